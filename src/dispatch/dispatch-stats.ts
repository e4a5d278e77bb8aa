/**
 * What the dispatcher counts for `compute.stats()`, at a cost per batch rather than per call
 * where it can: a submit adds one to a counter and stamps the call with the clock read once per
 * tick (calls submitted together share it); a send stamps its batch, reading the clock once, or
 * not at all in the tick its calls were submitted in (a call sent at once waited 0); an answer
 * samples each call's wait (to the send of the batch that answered: one sample per call, however
 * often it was taken back and sent again) and adds the batch's time on its node (the node's own
 * measure, the one batch sizing learns from) to the node and to the run-time window.
 * `performance.now()` costs ~130 ns on a VM, a sequential call on the inline backend ~7 µs.
 */
import type { RunningBatch } from './call.js'
import { SampleWindow } from './sample-window.js'

export class DispatchStats {
  /** Calls submitted, however they ended. */
  submitted = 0
  /** Calls that ended with their value. */
  completed = 0
  /** Per node: ms its threads spent on batches that answered, and how many calls those held. */
  readonly busy: number[] = []
  readonly calls: number[] = []
  /** A call's time on its node: its batch's, shared equally among the batch's calls. */
  readonly runTime = new SampleWindow()
  /** A call's time from its submit (or its requeue after an interruption) to the send of the batch that answered. */
  readonly waitTime = new SampleWindow()
  readonly startedAt = performance.now()
  /** When the pool closed: utilization is over the time it was open. */
  endedAt: number | undefined
  private tick = 0
  /** Whether `tick` was read since the dispatcher's last pump, which clears it once it has sent. */
  fresh = false

  /** A node joined (at start, or later): its counts start at 0. */
  addNode(index: number): void {
    this.busy[index] = 0
    this.calls[index] = 0
  }

  /** When a call was queued: the clock of the first submit since the last pump. */
  stamp(): number {
    if (!this.fresh) {
      this.fresh = true
      this.tick = performance.now()
    }
    return this.tick
  }

  /** The clock for a batch being sent. */
  now(): number {
    return this.fresh ? this.tick : performance.now()
  }

  /** `batch` answered after `ms` on its node. */
  ran(batch: RunningBatch, ms: number): void {
    const { calls, sentAt } = batch
    for (const call of calls) this.waitTime.add(sentAt - call.queuedAt, 1)
    this.busy[batch.node.index]! += ms
    this.calls[batch.node.index]! += calls.length
    this.runTime.add(ms / calls.length, calls.length)
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
