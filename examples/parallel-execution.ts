// skyward's parallel-execution guide, in spindle: gather, mixed batches and streamed results.
import { Compute, gather, remote } from 'spindle'

const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))

await using compute = await Compute.start({ workers: 3 })

// gather: one batch, results in submission order.
const chunks = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
const sums = await compute.run(gather(...chunks.map((chunk) => t.processChunk(chunk))))
console.log(`Chunk sums: [${sums.join(', ')}]`)

// Two calls at once (skyward's `a & b`): a typed tuple comes back.
const [p1, p2] = await compute.run(gather(t.multiply(2, 3), t.multiply(4, 5)))
console.log(`Products: ${p1}, ${p2}`)

// Different tasks in one batch; each position keeps its own type.
const [sum, product, fact] = await compute.run(gather(t.processChunk([1, 2, 3]), t.multiply(10, 20), t.factorial(5)))
console.log(`Mixed: sum=${sum}, product=${product}, factorial=${fact}`)

// Streaming: results as they finish, not as they were submitted.
console.log('Streaming (completion order):')
const started = performance.now()
const slow = gather(t.slowTask(0, 600), t.slowTask(1, 100), t.slowTask(2, 350))
for await (const { index, value } of compute.stream(slow, { ordered: false })) {
  const elapsed = ((performance.now() - started) / 1000).toFixed(2)
  console.log(`  task ${index} done after ${value.ms} ms of work (elapsed ${elapsed} s)`)
}
