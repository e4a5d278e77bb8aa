// Running the pipeline of pipeline.ts from code, with a live progress display.
import { ParallelExecutor, pipelineProgress } from 'spindle'
import p, { model } from './pipeline.js'

const run = await p.run({
  executor: new ParallelExecutor({ maxWorkers: 2 }),
  params: { rows: 50_000 },
  onEvent: pipelineProgress(), // live on a terminal, plain lines otherwise (on stderr)
})

const { slope, intercept } = run.output(model)
console.log(`Run ${run.status}: y = ${slope.toFixed(2)}x + ${intercept.toFixed(2)}`)
for (const step of run.steps) console.log(`  ${step.name.padEnd(7)} ${step.status} after ${step.attempts} attempt(s)`)
