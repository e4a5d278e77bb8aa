// Broadcast: run one call on every node; each node works on its shard of the data.
import { parseArgs } from 'node:util'
import { Compute, remote } from 'spindle'

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'thread' } } })
const backend = values.backend as 'thread' | 'process' | 'inline'
const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))

await using compute = await Compute.start({ backend, workers: 4 })

const data = Array.from({ length: 1000 }, (_, i) => i)
const results = await compute.broadcast(t.processPartition(data)) // one result per node, in node order
for (const r of results) console.log(`Node ${r.node}: ${r.size} items, sum=${r.sum}`)

const total = results.reduce((acc, r) => acc + r.sum, 0)
console.log(`Total: ${total} (expected: ${(999 * 1000) / 2})`)
