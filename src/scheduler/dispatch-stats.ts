/**
 * What the dispatcher counts for `compute.stats()`, at a cost per batch rather than per call
 * where it can: a submit adds one to a counter and stamps the call with the clock read once per
 * tick (calls submitted together share it); a send reads the clock once and samples each call's
 * wait; an answer adds the batch's time on its node (the node's own measure, the one batch
 * sizing learns from) to the node and one sample to the run-time window.
 */
import type { Call, RunningBatch } from './call.js'
import { SampleWindow } from './sample-window.js'

export class DispatchStats {
  /** Calls submitted, however they ended. */
  submitted = 0
  /** Calls that ended with their value. */
  completed = 0
  /** Per node: ms its threads spent on batches that answered, and how many calls those held. */
  readonly busy: Float64Array
  readonly calls: Float64Array
  /** A call's time on its node: its batch's, shared equally among the batch's calls. */
  readonly runTime = new SampleWindow()
  /** A call's time from its submit to the send of the batch that ran it (or the last one). */
  readonly waitTime = new SampleWindow()
  readonly startedAt = performance.now()
  /** When the pool closed: utilization is over the time it was open. */
  endedAt: number | undefined
  private tick = 0
  /** Whether `tick` was read in this run of the event loop (the dispatcher's pump clears it). */
  fresh = false

  constructor(nodes: number) {
    this.busy = new Float64Array(nodes)
    this.calls = new Float64Array(nodes)
  }

  /** When a call was queued: the clock of the first submit since the last pump. */
  stamp(): number {
    if (!this.fresh) {
      this.fresh = true
      this.tick = performance.now()
    }
    return this.tick
  }

  sent(calls: readonly Call[]): void {
    const now = performance.now()
    for (const call of calls) this.waitTime.add(now - call.queuedAt, 1)
  }

  ran(node: number, calls: number, ms: number): void {
    this.busy[node]! += ms
    this.calls[node]! += calls
    this.runTime.add(ms / calls, calls)
  }

  /** ms since the pool started, up to its close. */
  elapsed(): number {
    return (this.endedAt ?? performance.now()) - this.startedAt
  }
}

/** The calls of `batches` that have not settled. */
export function unsettled(batches: Iterable<RunningBatch>): number {
  let count = 0
  for (const batch of batches) for (const call of batch.calls) if (!call.settled) count++
  return count
}
