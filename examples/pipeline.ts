// A pipeline: load → two feature steps at once → train → a shell step. Run it with the CLI,
// `spindle run examples/pipeline.ts` (what `npm start` does), or from code (pipeline-run.ts).
import { Pipeline, remote } from 'spindle'

const t = remote<typeof import('./pipeline-tasks.js')>(new URL('./pipeline-tasks.ts', import.meta.url))

const p = new Pipeline('fit')
const rows = p.param('rows', 20_000)
const raw = p.step('load', t.load(rows))
const a = p.step('featA', t.featureA(raw), { cache: true }) // depends on load; reused while its inputs stay the same
const b = p.step('featB', t.featureB(raw), { retries: 2 })
const model = p.step('train', t.train(a, b))
p.shell('notify', ['node', '-e', 'console.log("model trained")'], { after: [model] })

export { model }
export default p // what `spindle run` and `spindle graph` load
