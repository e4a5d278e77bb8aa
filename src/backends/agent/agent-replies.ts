/**
 * The caller's side of a node agent (a process, or an SSH host), whatever carries its messages:
 * the batches it has in flight and which of them it said it started, what each gets when the
 * agent is lost, how a batch it failed is rebuilt as a NodeFailure, and the answer to a call one
 * of its tasks submitted (parallelMap inside a task), which goes to the dispatcher and back over
 * the channel it came from. (Thread nodes also cancel such calls: thread/nested-calls.ts.)
 */
import { NodeFailure, type NestedHandler } from '../backend.js'
import { decodeThrown, encodeThrown } from '../../protocol/error-codec.js'
import { callCount, type BatchRequest, type BatchResponse, type FailureData, type NestedReply, type NestedSubmit } from '../../protocol/messages.js'

/** A batch sent to an agent, until it answers or is lost. */
export interface InFlight {
  readonly done: (response: BatchResponse) => void
  readonly failed: (failure: NodeFailure) => void
}

interface Entry extends InFlight {
  /** The agent said one of its threads claimed it: it may have run. */
  started: boolean
}

/**
 * Agents in a row that may be lost with batches out and nothing started or answered before
 * their batches stop going back free: a call that kills its agent before the word of its start
 * gets out, or an agent that can never start, must end in InterruptedError, not loop for ever.
 */
const FRUITLESS_LOSSES_FORGIVEN = 3

/** The batches out on one node's agent, replaced agent after agent. */
export class AgentBatches {
  private readonly entries = new Map<number, Entry>()
  /** Whether the current agent has started or answered a batch. */
  private productive = false
  /** Agents in a row lost with batches out and nothing started or answered. */
  private fruitless = 0

  /** `threads`: the agent's worker threads, each running one batch at a time. */
  constructor(private readonly threads: number) {}

  get size(): number {
    return this.entries.size
  }

  add(id: number, done: InFlight['done'], failed: InFlight['failed']): void {
    this.entries.set(id, { done, failed, started: false })
  }

  /** The agent's threads claimed these batches. */
  started(ids: readonly number[]): void {
    for (const id of ids) {
      const entry = this.entries.get(id)
      if (entry !== undefined) entry.started = this.productive = true
    }
  }

  /** The agent answered batch `id` (or it was never sent: `answered` false): it leaves the flight. */
  settle(id: number, answered = true): InFlight | undefined {
    const entry = this.entries.get(id)
    if (entry === undefined) return undefined
    this.entries.delete(id)
    if (answered) this.productive = true
    return entry
  }

  /**
   * The agent is gone: every batch out with the failure it gets. Those it said it started are
   * interrupted (`failure`); the others never ran there and go back free (`'revoked'`), unless
   * agents keep being lost so. Then the batches that may have begun count as interrupted too: with
   * nothing answered, each thread is still on the first batch it took, so the first `threads`
   * sent; those behind them never ran, and still go back free.
   */
  lost(failure: NodeFailure): Array<[InFlight, NodeFailure]> {
    const entries = [...this.entries.values()]
    this.entries.clear()
    if (entries.length > 0) this.fruitless = this.productive ? 0 : this.fruitless + 1
    this.productive = false
    const free = this.fruitless <= FRUITLESS_LOSSES_FORGIVEN
    const unstarted = new NodeFailure('revoked', `${failure.message}, before it started the batch`)
    return entries.map((entry, sent) => [entry, entry.started || (!free && sent < this.threads) ? failure : unstarted])
  }
}

/** A batch's failure as the agent reported it (the agent flattens its own thread node's NodeFailure). */
export function failureOf(data: FailureData): NodeFailure {
  const { reason, message, exitCode, crash, interrupted, cause, rescue } = data
  return new NodeFailure(reason, message, {
    exitCode,
    crash,
    interrupted,
    ...(cause !== undefined && { cause: decodeThrown(cause) }),
    ...(rescue !== undefined && { rescue }),
  })
}

export function answerNested(handler: NestedHandler | undefined, message: NestedSubmit, answer: (reply: NestedReply) => void): void {
  if (handler === undefined) return
  const [module, name] = message.task
  handler(message.parent, { module, name }, message.args, { timeout: message.timeout, costKey: message.costKey }).then(
    (value) => answer({ reply: message.submit, ok: true, value }),
    (error: unknown) => answer({ reply: message.submit, ok: false, error: encodeThrown(error) }),
  )
}

/** A batch none of whose calls could be sent (a module unreadable, a frame the broker refused): each fails with `error`. */
export function everyCallFailed(batch: BatchRequest, error: unknown): BatchResponse {
  const encoded = encodeThrown(error)
  const errors = Array.from({ length: callCount(batch) }, (_, i): [number, typeof encoded] => [i, encoded])
  return [0, errors, batch[1], ...errors.map(() => undefined)]
}
