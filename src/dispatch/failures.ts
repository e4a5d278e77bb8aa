/**
 * What happens to the calls of a batch: settled from its answer, or, when it could not be sent
 * (below) or its node failed under them, decided here. Two kinds of node failure (SPEC,
 * Contracts): the call whose own code killed the worker (process.exit, an uncaught error from its
 * timers, a resource limit while it ran alone) is to blame and rejects with WorkerExitError;
 * every other call was merely interrupted and runs again, elsewhere if it can, up to
 * `interruptionRetries` times. A crash that nobody in a shared batch can be blamed for sends its
 * calls back one per batch, so a repeat offender ends up alone and blamed.
 */
import { InterruptedError, NotCloneableError, TimeoutError, WorkerExitError } from '../errors.js'
import { argumentsNotCloneable, findNotCloneable } from '../protocol/cloneable.js'
import { ARGS } from '../protocol/value-path.js'
import type { NodeFailure } from '../backends/backend.js'
import { decodeThrown } from '../protocol/error-codec.js'
import { RESPONSE_HEADER, type BatchResponse } from '../protocol/messages.js'
import { warnStrayCrash } from '../worker/crash-slot.js'
import { reportRescue } from '../worker/chunk-exits.js'
import type { Call, RunningBatch } from './call.js'

/** The dispatcher as failure handling sees it: its backend's kind, its retry limit, and where calls go back. */
export interface Requeuer {
  readonly backend: { readonly kind: string }
  readonly options: { readonly interruptionRetries: number }
  /** Puts calls back at the head of the queue (`takenBack`: they never started, no retry used). */
  requeue(calls: Call[], takenBack?: boolean): void
}

const warned = new WeakSet<object>()

/** A batch answered: each call settles with its value or what it threw. Returns how many resolved that had not settled. */
export function settleCalls(calls: readonly Call[], response: BatchResponse): number {
  const errors = response[1]
  let failed = 0
  let resolved = 0
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!
    if (errors !== undefined && failed < errors.length && errors[failed]![0] === i) {
      call.reject(decodeThrown(errors[failed++]![1]))
    } else {
      if (!call.settled) resolved++
      call.resolve(response[RESPONSE_HEADER + i])
    }
  }
  return resolved
}

export function handleNodeFailure(dispatcher: Requeuer, batch: RunningBatch, nodeFailure: NodeFailure): void {
  const live = batch.calls.filter((c) => !c.settled)
  if (live.length === 0) return
  // Never started (taken back, or its worker died first): nothing ran, so no retry is used up.
  if (nodeFailure.reason === 'revoked') return dispatcher.requeue(live, true)
  const crash = nodeFailure.details.crash
  const owner = crash?.owner ?? -1
  const blameable = nodeFailure.details.interrupted !== true
  const culprit = !blameable
    ? undefined
    : (live.find((c) => c.seq === owner) ?? (owner === -1 && batch.calls.length === 1 ? live[0] : undefined))
  const strayFromEarlierCall = owner !== -1 && !batch.calls.some((c) => c.seq === owner)
  // Several batches may have been in flight on the node: one warning per crash, not per batch.
  if (strayFromEarlierCall && !warned.has(crash!)) {
    warned.add(crash!)
    warnStrayCrash(batch.node.describe(), crash!, true)
  }

  const again: Call[] = []
  for (const call of live) {
    if (call === culprit) {
      call.reject(exitError(dispatcher.backend.kind, batch, call, nodeFailure))
      continue
    }
    call.interruptions++
    if (call.interruptions > dispatcher.options.interruptionRetries) {
      call.reject(
        new InterruptedError(
          `Task ${call.label} was interrupted ${call.interruptions} times: each time the node running it ` +
            `was lost (last: ${batch.node.describe()}, ${nodeFailure.message}). ` +
            'Check the nodes for memory limits or crashes, or raise `interruptionRetries`.',
          call.interruptions,
          { cause: nodeFailure.details.cause ?? nodeFailure },
        ),
      )
      continue
    }
    // Unknown culprit in a shared batch: isolate everyone so that a repeat crash names it.
    if (blameable && owner === -1 && batch.calls.length > 1) call.solo = true
    again.push(call)
  }
  dispatcher.requeue(again)
}

/** A call that ran alone in `batch` past its deadline (its work is stopped next). */
export function timeoutError(batch: RunningBatch, timeout: number): TimeoutError {
  return new TimeoutError(
    `Task ${batch.calls[0]!.label} ran past its timeout of ${timeout} ms on ${batch.node.describe()} and was stopped. ` +
      'Raise `timeout`, or split the work into smaller calls.',
    timeout,
  )
}

function exitError(kind: string, batch: RunningBatch, call: Call, failure: NodeFailure): WorkerExitError {
  const { exitCode, crash } = failure.details
  const thrown = crash?.error !== undefined ? decodeThrown(crash.error) : undefined
  const how =
    thrown !== undefined
      ? `exited after an error the task did not catch (${describeThrown(thrown)})`
      : exitCode !== undefined && exitCode !== null
        ? `exited with code ${exitCode}`
        : failure.message
  const error = new WorkerExitError(
    `Worker ${batch.node.index} (${kind}) running task ${call.label} ${how} while the task was running. ` +
      'The worker was replaced; other calls were not affected. Catch errors inside the task, await its promises, ' +
      'and do not call process.exit() in a task.',
    { backend: kind, node: batch.node.index, task: call.label, exitCode },
    { cause: thrown ?? failure.details.cause ?? failure },
  )
  // A map chunk's worker exited under one of its items, on a node agent: the map reads what it left.
  if (failure.details.rescue !== undefined) reportRescue(error, failure.details.rescue)
  return error
}

function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`
  try {
    return `the value ${JSON.stringify(thrown)}`
  } catch {
    return `the value ${String(thrown)}`
  }
}

/**
 * Sending a batch threw before anything ran: structured clone refused a value the quick check
 * let through (a function in an array's named property). Calls whose arguments a thorough check
 * faults fail with the path; the others go back to the queue (true: there is work to pump). With
 * none to blame, each fails with what the send threw.
 */
export function handleUnsendable(dispatcher: Requeuer, batch: RunningBatch, error: unknown): boolean {
  const innocent: Call[] = []
  for (const call of batch.calls) {
    const bad = findNotCloneable(call.args, ARGS, true)
    if (bad !== undefined) call.reject(argumentsNotCloneable(call.label, bad, error))
    else innocent.push(call)
  }
  if (innocent.length < batch.calls.length) {
    dispatcher.requeue(innocent)
    return true
  }
  const refused = error instanceof Error && error.name === 'DataCloneError'
  for (const call of innocent) {
    if (!refused) call.reject(error)
    else call.reject(new NotCloneableError(`Cannot send the arguments of task ${call.label} to a worker: ${error.message}`, ARGS, { cause: error }))
  }
  return false
}
