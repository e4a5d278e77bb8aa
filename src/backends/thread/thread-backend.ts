import type { Backend } from '../backend.js'
import type { InstanceInfo } from '../../worker/context.js'
import { ThreadNode, type ThreadNodeOptions } from './thread-node.js'

/** `workers` worker threads in this process; each thread is a node. */
export function startThreadBackend(workers: number, jobId: string, options: ThreadNodeOptions): Backend {
  const peers = Array.from({ length: workers }, (_, i) => `thread-${i}`)
  const nodes = peers.map((_, index) => {
    const info: InstanceInfo = {
      node: index,
      rank: index,
      totalNodes: workers,
      worker: 0,
      workersPerNode: 1,
      isHead: index === 0,
      peers,
      jobId,
      backend: 'thread',
    }
    return new ThreadNode(index, info, options)
  })
  return {
    kind: 'thread',
    nodes,
    async close() {
      await Promise.all(nodes.map((node) => node.close()))
    },
  }
}
