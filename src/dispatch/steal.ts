/**
 * Taking batches back: for work stealing, a cancelled call, a node that leaves. Stealing: a node
 * runs its batches in the order sent, and the dispatcher fills a node's second slot ahead of
 * time so its worker never idles for a round trip; the price is that a batch can wait behind a
 * long one while another node has run out of work. Once nothing is queued and a node is idle,
 * the dispatcher asks for the newest batch of a node that has more batches in flight than
 * threads (2 × busy > slots): on a thread, batches start in the order sent, so if the newest has
 * started the older ones have too. Taken back (a `'revoked'` failure: at once on threads, on the
 * agent's answer elsewhere) it returns to the queue and goes to the idle node; one that had
 * started runs on. Each batch is asked once (`revoking`), and calls pinned to their node stay.
 */
import type { BackendNode } from '../backends/backend.js'
import type { Call, RunningBatch } from './call.js'
import type { CallQueue } from './call-queue.js'

/** The batch to ask back for an idle node, if any; `free` is the dispatcher's free slots per node. */
export function batchToTakeBack(nodes: readonly BackendNode[], free: readonly number[], running: Iterable<RunningBatch>): RunningBatch | undefined {
  if (!nodes.some((n) => free[n.index]! >= n.slots && (n.state ?? 'ready') === 'ready')) return undefined
  const newest: Array<RunningBatch | undefined> = []
  for (const batch of running) newest[batch.node.index] = batch // running is in the order sent
  return newest.find((batch) => {
    if (batch === undefined || batch.revoking || batch.calls[0]!.options.node !== undefined) return false
    const busy = batch.node.slots - free[batch.node.index]!
    return 2 * busy > batch.node.slots
  })
}

/** Asks `batch`'s node to take it back if it has not started: once per batch (a cancelled signal's thousands of calls share batches). */
export function askBack(batch: RunningBatch): void {
  if (batch.revoking) return
  batch.revoking = true
  batch.control?.('revoke')
}

/**
 * A call's signal aborted: it rejects at once. A batch not started is taken back (asked once, not
 * per call of a signal's thousands): the call never runs, the others are queued again. Running
 * work is stopped only when nobody else waits for it (killing a worker to save one call of many
 * would throw away the others' work).
 */
export function cancelCall(call: Call, reason: unknown, waiting: CallQueue): void {
  if (call.settled) return
  const batch = call.batch
  if (call.state === 'queued') waiting.forget() // its queue entry is skipped when reached
  call.reject(reason)
  if (batch === undefined) return
  if (batch.calls.every((c) => c.settled)) batch.control?.('stop')
  else askBack(batch)
}
