// A pipeline: load → two feature steps at once → train → a shell step, with a live progress display.
import { ParallelExecutor, Pipeline, pipelineProgress, remote } from 'spindle'

const t = remote<typeof import('./pipeline-tasks.js')>(new URL('./pipeline-tasks.ts', import.meta.url))

const p = new Pipeline('fit')
const rows = p.param('rows', 20_000)
const raw = p.step('load', t.load(rows))
const a = p.step('featA', t.featureA(raw), { cache: true }) // depends on load; reused while its inputs stay the same
const b = p.step('featB', t.featureB(raw), { retries: 2 })
const model = p.step('train', t.train(a, b))
p.shell('notify', ['node', '-e', 'console.log("model trained")'], { after: [model] })

const run = await p.run({
  executor: new ParallelExecutor({ maxWorkers: 2 }),
  params: { rows: 50_000 },
  onEvent: pipelineProgress(), // live on a terminal, plain lines otherwise (on stderr)
})

const { slope, intercept } = run.output(model)
console.log(`Run ${run.status}: y = ${slope.toFixed(2)}x + ${intercept.toFixed(2)}`)
for (const step of run.steps) console.log(`  ${step.name.padEnd(7)} ${step.status} after ${step.attempts} attempt(s)`)
