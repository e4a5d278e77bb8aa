/**
 * What each batch a dead worker had in flight gets, by what the worker had done with it. The
 * claim words say it: a batch never claimed never started, and goes back to the queue free
 * (`'revoked'`); one claimed but not yet RUNNING was still loading its modules, and is only
 * interrupted; of the batches running, the one that carries the crash report's owner takes the
 * blame, and the others were only in its way. A worker we stopped ourselves (a deadline, a
 * cancellation) interrupts what it had besides the stopped batch, which ends as aborted. A worker
 * that could not start leaves the node out for good, with the reason (`startError`).
 */
import { SpindleError } from '../../errors.js'
import { NodeFailure, type NodeLifecycle } from '../backend.js'
import type { ClaimWords } from '../../protocol/claims.js'
import { CALL_FIELDS, REQUEST_HEADER, type BatchRequest } from '../../protocol/messages.js'
import type { CrashReport } from '../../worker/crash-slot.js'

export interface LostBatch {
  readonly batch: BatchRequest
  /** Its claim word. */
  readonly claim: number
  /** The dispatcher stopped it (its deadline, a cancellation). */
  readonly stopped: boolean
}

export interface WorkerDeath {
  readonly crash: CrashReport | undefined
  readonly error: unknown
  readonly exitCode: number
  /** The node is closing: whatever was in flight ends as aborted. */
  readonly closed: boolean
  /** We terminated the worker, to stop one of its batches. */
  readonly stoppedByUs: boolean
}

/**
 * Judges the batches in flight on a dead worker. Call it before their claim words are released:
 * it takes back those never claimed.
 */
export function judgeLost(batches: readonly LostBatch[], claims: ClaimWords, death: WorkerDeath): { failures: Map<LostBatch, NodeFailure>; anyStarted: boolean } {
  const failures = new Map<LostBatch, NodeFailure>()
  const started = batches.filter((b) => {
    if (!claims.revoke(b.claim, b.batch[1])) return true
    failures.set(b, new NodeFailure('revoked', 'its worker exited before starting it'))
    return false
  })
  const { crash } = death
  const culprit = crash === undefined || crash.owner === -1 ? undefined : started.find((b) => carries(b.batch, crash.owner))
  for (const b of started) failures.set(b, failure(b, death, culprit, claims.running(b.claim)))
  return { failures, anyStarted: started.length > 0 }
}

function failure(entry: LostBatch, death: WorkerDeath, culprit: LostBatch | undefined, began: boolean): NodeFailure {
  const { error, exitCode, crash } = death
  if (entry.stopped || death.closed) return new NodeFailure('aborted', 'aborted', { cause: error })
  // Another batch's deadline or cancellation stopped the thread: this batch is only interrupted.
  if (death.stoppedByUs) return new NodeFailure('crash', 'its worker was stopped to end another call', { interrupted: true })
  const why = reasonOf(error)
  // Claimed, but none of its calls had begun: nothing of it ran, whatever the crash says.
  if (!began) return new NodeFailure('crash', `its worker died (${why}) before starting it`, { interrupted: true, exitCode, cause: error })
  if (culprit !== undefined && culprit !== entry) {
    return new NodeFailure('crash', `its worker was ended by task ${crash!.task ?? '(unknown)'} of another batch (${why})`, { interrupted: true, exitCode })
  }
  return new NodeFailure('crash', why, { exitCode, crash, cause: error })
}

/** Whether `batch` carries the call numbered `seq`. */
function carries(batch: BatchRequest, seq: number): boolean {
  for (let at = REQUEST_HEADER; at < batch.length; at += CALL_FIELDS) if (batch[at] === seq) return true
  return false
}

/** A worker's death in the user's words. */
/** Why the node is out for good when its worker could not start (Piscina starts no other then). */
export function startError(index: number, error: unknown): SpindleError {
  return new SpindleError(
    'ERR_SPINDLE_WORKER_START',
    `Worker ${index} (thread) could not start: ${reasonOf(error)}. No task of yours had run on it. ` +
      'Raise `resourceLimits` if it ran out of memory, or check `execArgv` and `env`.',
    { cause: error },
  )
}

export function reasonOf(error: unknown): string {
  if ((error as { code?: string })?.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'ran out of memory (resourceLimits)'
  return (error as Error)?.message ?? String(error)
}

/**
 * The node event of a worker's death: it could not start (`startFailure`, the node is gone), we
 * stopped it (`stoppedByUs`), or it died; `thrown` is what Piscina reported, if anything.
 */
export function lossOf(index: number, startFailure: Error | undefined, stoppedByUs: boolean, thrown: unknown, exitCode: number): NodeLifecycle {
  if (startFailure !== undefined) return { type: 'lost', reason: 'start', cause: startFailure, next: 'none', exitCode }
  const where = `Worker ${index} (thread)`
  const cause = stoppedByUs
    ? new Error(`${where} was stopped to end a call (its deadline passed, or it was cancelled)`)
    : new Error(`${where} exited with code ${exitCode}${thrown === undefined ? '' : `: ${reasonOf(thrown)}`}`, thrown === undefined ? undefined : { cause: thrown })
  return { type: 'lost', reason: stoppedByUs ? 'stopped' : 'crash', cause, next: 'replace', exitCode }
}
