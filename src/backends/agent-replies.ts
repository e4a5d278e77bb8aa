/**
 * The caller's side of a node agent (a process, or an SSH host), whatever carries its messages:
 * the batches it has in flight, how a batch it failed is rebuilt as a NodeFailure, and the answer
 * to a call one of its tasks submitted (parallelMap inside a task), which goes to the dispatcher
 * and back over the channel it came from. (Thread nodes also cancel such calls: thread/nested-calls.ts.)
 */
import { NodeFailure, type NestedHandler } from './backend.js'
import { decodeThrown, encodeThrown } from '../protocol/error-codec.js'
import type { BatchResponse, NestedReply, NestedSubmit } from '../protocol/messages.js'
import type { FailureData } from './process/messages.js'

/** A batch sent to an agent, until it answers or is lost. */
export interface InFlight {
  readonly done: (response: BatchResponse) => void
  readonly failed: (failure: NodeFailure) => void
}

/** A batch's failure as the agent reported it (the agent flattens its own thread node's NodeFailure). */
export function failureOf(data: FailureData): NodeFailure {
  const { reason, message, exitCode, crash, interrupted, cause } = data
  return new NodeFailure(reason, message, { exitCode, crash, interrupted, ...(cause !== undefined && { cause: decodeThrown(cause) }) })
}

export function answerNested(handler: NestedHandler | undefined, message: NestedSubmit, answer: (reply: NestedReply) => void): void {
  if (handler === undefined) return
  const [module, name] = message.task
  handler(message.parent, { module, name }, message.args, { timeout: message.timeout, costKey: message.costKey }).then(
    (value) => answer({ reply: message.submit, ok: true, value }),
    (error: unknown) => answer({ reply: message.submit, ok: false, error: encodeThrown(error) }),
  )
}
