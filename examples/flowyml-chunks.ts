// flowyml's ParallelExecutor example: five independent chunk steps, four at a time (each in a
// process of its own), then a total.
import { gather, ParallelExecutor, Pipeline, remote } from 'spindle'

const t = remote<typeof import('./branch-tasks.js')>(new URL('./branch-tasks.ts', import.meta.url))

const p = new Pipeline('chunks')
const chunks = Array.from({ length: 5 }, (_, i) => Array.from({ length: 100_000 }, (_, j) => ((i + 1) * j) % 1000))
const parts = chunks.map((chunk, i) => p.step(`chunk${i}`, t.processChunk(chunk)))
const total = p.step('total', t.sum(gather(...parts))) // waits for all five

const run = await p.run({ executor: new ParallelExecutor({ maxWorkers: 4, backend: 'process' }) })
for (const [i, part] of parts.entries()) console.log(`chunk${i}: ${run.output(part)}`)
console.log(`total: ${run.output(total)}`)
