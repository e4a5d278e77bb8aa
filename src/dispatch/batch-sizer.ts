/**
 * How many calls to put in one message. A batch should take long enough on the node that the
 * per-message cost (tens of µs) is small beside it, yet short enough that no node sits idle at
 * the end while another works through a long batch. Cost per call is learnt per key (a task,
 * or one parallelMap run) from the time nodes report. Growth is slow-started: a key not yet
 * measured goes one call at a time, and a batch is at most twice the last one, so a wrong
 * estimate (the same task is cheap for some arguments, costly for others) costs one small
 * batch, not one node's whole share; a batch much slower than predicted resets the estimate.
 */
const TARGET_BATCH_MS = 2
const MAX_BATCH = 1024
const SMOOTHING = 0.3
const SURPRISE = 4

interface Estimate {
  msPerCall: number
  /** The largest batch since the last surprise: the next may be at most twice as large. */
  lastSize: number
}

export class BatchSizer {
  private readonly estimates = new Map<number, Estimate>()

  /** Calls to take for `key`, given how many are queued and how many nodes share them. */
  size(key: number, queued: number, nodes: number): number {
    const estimate = this.estimates.get(key)
    if (estimate === undefined) return 1
    const byCost = estimate.msPerCall <= 0 ? MAX_BATCH : Math.floor(TARGET_BATCH_MS / estimate.msPerCall)
    const fairShare = Math.ceil(queued / (nodes * 2))
    return Math.max(1, Math.min(byCost, fairShare, estimate.lastSize * 2, MAX_BATCH))
  }

  /** The measured ms per call of `key`, or undefined before its first batch ends. */
  msPerCall(key: number): number | undefined {
    return this.estimates.get(key)?.msPerCall
  }

  /** A node ran `calls` calls of `key` in `ms`. */
  record(key: number, calls: number, ms: number): void {
    const sample = ms / calls
    const estimate = this.estimates.get(key)
    if (estimate === undefined) {
      this.estimates.set(key, { msPerCall: sample, lastSize: calls })
      return
    }
    const surprised = sample > estimate.msPerCall * SURPRISE
    estimate.msPerCall = surprised ? sample : estimate.msPerCall + SMOOTHING * (sample - estimate.msPerCall)
    // A batch that was small because the queue was short says nothing against the estimate:
    // only a surprise restarts the growth.
    estimate.lastSize = surprised ? calls : Math.max(estimate.lastSize, calls)
  }
}
