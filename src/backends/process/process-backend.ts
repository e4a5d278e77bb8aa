import type { Backend } from '../backend.js'
import { agentExecArgv } from './agent-argv.js'
import { ProcessNode } from './process-node.js'
import type { ResourceLimits } from 'node:worker_threads'

/** `workers` node agents, each a child process with `workersPerNode` threads; each process is a node. */
export function startProcessBackend(
  workers: number,
  workersPerNode: number,
  jobId: string,
  options: { resourceLimits?: ResourceLimits | undefined; execArgv?: string[] | undefined },
): Backend {
  const execArgv = options.execArgv ?? agentExecArgv() // flags given are taken as given
  const peers = Array.from({ length: workers }, (_, i) => `process-${i}`)
  const nodes = peers.map(
    (_, index) =>
      new ProcessNode(
        index,
        {
          info: { node: index, rank: index, totalNodes: workers, workersPerNode, isHead: index === 0, peers, jobId, backend: 'process' },
          ...(options.resourceLimits !== undefined && { resourceLimits: options.resourceLimits }),
        },
        execArgv,
      ),
  )
  return {
    kind: 'process',
    nodes,
    async close() {
      await Promise.all(nodes.map((node) => node.close()))
    },
  }
}
