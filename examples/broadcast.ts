// Broadcast: run one call on every node; each node works on its shard of the data.
//   --backend thread|process|inline, or --backend ssh --hosts alice@10.0.0.5,bob@10.0.0.6
import { parseArgs } from 'node:util'
import { Compute, remote } from 'spindle'

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'thread' },
    hosts: { type: 'string' },
    'ssh-config': { type: 'string' },
    node: { type: 'string' },
  },
})
const backend = values.backend as 'thread' | 'process' | 'ssh' | 'inline'
const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))

await using compute = await Compute.start(
  backend === 'ssh'
    ? {
        backend, // one node per host
        hosts: (values.hosts ?? '').split(','),
        ssh: {
          ...(values['ssh-config'] !== undefined && { sshOptions: ['-F', values['ssh-config']] }),
          ...(values.node !== undefined && { node: values.node }),
        },
      }
    : { backend, workers: 4 },
)

const data = Array.from({ length: 1000 }, (_, i) => i)
const results = await compute.broadcast(t.processPartition(data)) // one result per node, in node order
for (const r of results) console.log(`Node ${r.node}: ${r.size} items, sum=${r.sum}`)

const total = results.reduce((acc, r) => acc + r.sum, 0)
console.log(`Total: ${total} (expected: ${(999 * 1000) / 2})`)
