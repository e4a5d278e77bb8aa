// An SSH cluster: a gather spread over the hosts you name, then a broadcast that reaches each
// host once.   tsx examples/ssh-cluster.ts --hosts alice@10.0.0.5,bob@10.0.0.6:2222
import { parseArgs } from 'node:util'
import { Compute, gather, remote } from 'spindle'

const { values } = parseArgs({
  options: { hosts: { type: 'string' }, 'ssh-config': { type: 'string' }, node: { type: 'string' } },
})
if (values.hosts === undefined) throw new Error('Usage: ssh-cluster.ts --hosts user@host[:port],... [--ssh-config FILE] [--node PATH]')
const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))

await using compute = await Compute.start({
  backend: 'ssh',
  hosts: values.hosts.split(','), // user@host[:port], or Host aliases of your ~/.ssh/config
  workersPerNode: 2, // threads on each host
  ssh: {
    ...(values['ssh-config'] !== undefined && { sshOptions: ['-F', values['ssh-config']] }), // another ssh_config
    ...(values.node !== undefined && { node: values.node }), // Node's path on the hosts, if not on their PATH
  },
})

const chunks = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
const sums = await compute.run(gather(...chunks.map((chunk) => t.processChunk(chunk)))) // spread over the hosts
console.log(`Chunk sums: ${sums.join(', ')}`)

const nodes = await compute.broadcast(t.whereAmI()) // once per host, in host order
for (const n of nodes) console.log(`Node ${n.node} of ${n.totalNodes}: ${n.peers[n.node]}, ${n.workersPerNode} threads`)
console.log(`One job id on every node: ${nodes.every((n) => n.jobId === compute.jobId)}`)
