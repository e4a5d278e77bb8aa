// runnable's parallel guide: two branches, each a pipeline of stub, function, shell and script
// steps, run at once; then the parent continues. Then the same with a branch nested one deeper.
import { ParallelExecutor, Pipeline, remote } from 'spindle'

const t = remote<typeof import('./branch-tasks.js')>(new URL('./branch-tasks.ts', import.meta.url))
const report = new URL('./scripts/report.ts', import.meta.url)

function branch(name: string): Pipeline {
  const b = new Pipeline(name)
  const start = b.stub('start')
  const greeting = b.step('greet', t.hello(name), { after: [start] })
  b.shell('shell', ['node', '-e', `console.log("shell in ${name}")`], { after: [greeting] })
  b.script('report', report, { args: [name], after: ['shell'] })
  return b
}

const executor = new ParallelExecutor({ maxWorkers: 2 })

const flat = new Pipeline('parallel')
const both = flat.parallel('branches', { left: branch('left'), right: branch('right') })
flat.stub('continue', { after: [both] })
const run = await flat.run({ executor })
console.log(`parallel: ${run.status}`)
for (const step of run.steps) console.log(`  ${step.name}: ${step.status}`)

// Nested: a branch that itself runs two branches, on the same pool and the same worker limit.
const inner = new Pipeline('inner')
inner.parallel('pair', { a: branch('a'), b: branch('b') })
const nested = new Pipeline('nested')
const all = nested.parallel('outer', { inner, solo: branch('solo') })
nested.stub('continue', { after: [all] })
const deep = await nested.run({ executor })
console.log(`nested: ${deep.status}, ${deep.steps.length} steps, deepest: ${deep.steps.at(-1)!.name}`)
