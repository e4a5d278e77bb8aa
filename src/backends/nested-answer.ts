/**
 * The caller's side of a call that a task on an agent (a process or an SSH host) submitted:
 * parallelMap inside a task. It goes to the dispatcher; its outcome goes back over the channel
 * it came from, as a `NestedReply`. (Thread nodes also cancel such calls: thread/nested-calls.ts.)
 */
import type { NestedHandler } from './backend.js'
import { encodeThrown } from '../protocol/error-codec.js'
import type { NestedReply, NestedSubmit } from '../protocol/messages.js'

export function answerNested(handler: NestedHandler | undefined, message: NestedSubmit, answer: (reply: NestedReply) => void): void {
  if (handler === undefined) return
  const [module, name] = message.task
  handler(message.parent, { module, name }, message.args, { timeout: message.timeout, costKey: message.costKey }).then(
    (value) => answer({ reply: message.submit, ok: true, value }),
    (error: unknown) => answer({ reply: message.submit, ok: false, error: encodeThrown(error) }),
  )
}
