// A pool of workers that dial in through Redis: start any number of them, anywhere that reaches
// the broker, then run this.   spindle worker --redis redis://queue:6379 --pool batch --workers-per-node 8
//                              tsx examples/redis-pool.ts --redis redis://queue:6379 --pool batch --min-nodes 2
import { parseArgs } from 'node:util'
import { Compute, gather, remote } from 'spindle'

const { values } = parseArgs({ options: { redis: { type: 'string' }, pool: { type: 'string' }, 'min-nodes': { type: 'string' } } })
if (values.redis === undefined || values.pool === undefined) throw new Error('Usage: redis-pool.ts --redis URL --pool NAME [--min-nodes N]')
const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))

await using compute = await Compute.start({
  backend: 'redis',
  redis: { url: values.redis }, // rediss://user:password@host:6380 for TLS and an ACL user
  pool: values.pool, // the name the workers were started with
  minNodes: Number(values['min-nodes'] ?? 1), // wait for this many workers (Dask's wait_for_workers)
  startTimeout: 60_000,
})

const chunks = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
const sums = await compute.run(gather(...chunks.map((chunk) => t.processChunk(chunk)))) // spread over the workers
console.log(`Chunk sums: ${sums.join(', ')}`)

const nodes = await compute.broadcast(t.whereAmI()) // once per worker that has joined
console.log(`${nodes.length} workers, ${nodes.map((n) => `${n.workersPerNode} threads`).join(' and ')}, on the ${nodes[0]!.backend} backend`)
