/**
 * How many calls to put in one message. A batch should take long enough on the node that the
 * per-message cost (tens of µs) is small beside it, yet short enough that no node sits idle at
 * the end while another works through a long batch. Cost per call is learnt per task from the
 * time nodes report; a task not yet measured goes one call at a time until it is.
 */
const TARGET_BATCH_MS = 2
const MAX_BATCH = 1024
const SMOOTHING = 0.3

export class BatchSizer {
  private readonly msPerCall = new Map<number, number>()

  /** Calls to take for `task`, given how many are queued and how many nodes share them. */
  size(task: number, queued: number, nodes: number): number {
    const cost = this.msPerCall.get(task)
    if (cost === undefined) return 1
    const byCost = cost <= 0 ? MAX_BATCH : Math.floor(TARGET_BATCH_MS / cost)
    const fairShare = Math.ceil(queued / (nodes * 2))
    return Math.max(1, Math.min(byCost, fairShare, MAX_BATCH))
  }

  /** A node ran `calls` calls of `task` in `ms`. */
  record(task: number, calls: number, ms: number): void {
    const sample = ms / calls
    const previous = this.msPerCall.get(task)
    this.msPerCall.set(task, previous === undefined ? sample : previous + SMOOTHING * (sample - previous))
  }
}
