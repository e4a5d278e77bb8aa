/**
 * `compute.stats()`: what the pool is doing and has done, in the figures piscina and workerpool
 * users look for. Counts come from the dispatcher (dispatch/dispatch-stats.ts), node states from
 * the node events (node-events.ts). A call here is what the dispatcher runs: a `run()` of a
 * gather counts each of its calls, a parallelMap its chunks (not its items), and calls tasks
 * submit themselves count too.
 */
import type { Dispatcher } from '../dispatch/dispatcher.js'
import type { Percentiles } from '../dispatch/sample-window.js'
import type { NodeState, NodeWatch } from './node-events.js'

export type { Percentiles }

export interface NodeStats {
  readonly node: number
  readonly state: NodeState
  /**
   * The share of the node's thread time spent running calls since the pool started (up to its
   * close): `busy / (elapsed × threads)`, in [0, 1]. Threads: 1 on a thread or inline node,
   * `workersPerNode` on a process or SSH node. Async tasks that wait overlap, and are capped at 1.
   */
  readonly utilization: number
  /** ms its threads spent running batches that answered, as the node measures them. */
  readonly busy: number
  /** Calls that ran there and answered (with a value or with what they threw). */
  readonly calls: number
  /** Times its worker, agent or connection was lost. */
  readonly lost: number
}

export interface PoolStats {
  /** Calls waiting in the pool's queue for a node. */
  readonly queued: number
  /** Calls sent to a node and not yet settled: running, or waiting there behind another batch. */
  readonly running: number
  /** Calls that ended with their value. */
  readonly completed: number
  /** Calls that ended with an error: thrown by the task, timed out, cancelled, interrupted too often, refused at close. */
  readonly failed: number
  /**
   * ms a call ran on its node, over the calls of the last 1,024 batches: a batch's time on the
   * node shared equally among its calls (cheap calls travel many to a message; a call of more
   * than ~2 ms travels alone, and is measured exactly). Undefined before a batch has answered.
   */
  readonly runTime: Percentiles | undefined
  /**
   * ms a call waited in the pool's queue (a pool still starting included), from its submit, or
   * its requeue after an interruption, to the send of the batch that answered, over the last
   * 1,024 distinct waits of answered calls (calls queued in one tick and sent together are one).
   * The clock is read once per tick: a call sent in the tick it was submitted in waited 0. Not
   * counted: a batch sent ahead waits on its node until the one running there ends.
   */
  readonly waitTime: Percentiles | undefined
  /** In node order. */
  readonly nodes: NodeStats[]
  /** ms since the pool started, up to its close. */
  readonly elapsed: number
  /** `close()` was called: the figures are final once it has resolved. */
  readonly closed: boolean
}

export function poolStats(dispatcher: Dispatcher, watch: NodeWatch, threadsPerNode: number, closed: boolean): PoolStats {
  const { stats } = dispatcher
  const { queued, running } = dispatcher.counts()
  const elapsed = stats.elapsed()
  const nodes = watch.states.map((state, node): NodeStats => {
    const busy = stats.busy[node]!
    return {
      node,
      state,
      utilization: elapsed > 0 ? Math.min(1, busy / (elapsed * threadsPerNode)) : 0,
      busy,
      calls: stats.calls[node]!,
      lost: watch.losses[node]!,
    }
  })
  return {
    queued,
    running,
    completed: stats.completed,
    failed: stats.submitted - stats.completed - queued - running,
    runTime: stats.runTime.percentiles(),
    waitTime: stats.waitTime.percentiles(),
    nodes,
    elapsed,
    closed,
  }
}
