// A Redis pool whose workers this program starts itself, one on each SSH host: they dial in to
// the broker (so its URL must be reachable from the hosts), and leave when the pool closes.
//   tsx examples/redis-over-ssh.ts --redis redis://queue:6379 --hosts alice@10.0.0.5,bob@10.0.0.6:2222
import { parseArgs } from 'node:util'
import { Compute, gather, remote } from 'spindle'

const { values } = parseArgs({
  options: { redis: { type: 'string' }, hosts: { type: 'string' }, pool: { type: 'string', default: 'batch' }, 'ssh-config': { type: 'string' }, node: { type: 'string' } },
})
if (values.redis === undefined || values.hosts === undefined) {
  throw new Error('Usage: redis-over-ssh.ts --redis URL --hosts user@host[:port],... [--pool NAME] [--ssh-config FILE] [--node PATH]')
}
const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))

await using compute = await Compute.start({
  backend: 'redis',
  redis: { url: values.redis }, // as the hosts reach it: not localhost, unless the hosts are this machine
  pool: values.pool,
  hosts: values.hosts.split(','), // one worker each, started over SSH; start() waits for all of them
  workersPerNode: 2, // threads of each worker
  ssh: {
    ...(values['ssh-config'] !== undefined && { sshOptions: ['-F', values['ssh-config']] }), // another ssh_config
    ...(values.node !== undefined && { node: values.node }), // Node's path on the hosts, if not on their PATH
  },
})

const chunks = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
const sums = await compute.run(gather(...chunks.map((chunk) => t.processChunk(chunk)))) // through the broker, to the workers
console.log(`Chunk sums: ${sums.join(', ')}`)

const workers = await compute.broadcast(t.whereAmI()) // once per worker of the pool
for (const w of workers) console.log(`Worker ${w.rank} of ${w.totalNodes}: ${w.backend} backend, ${w.workersPerNode} threads`)
