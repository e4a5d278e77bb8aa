/**
 * Serving the calls a running task submits (parallelMap inside a task) on the caller's side of a
 * worker's channel: each goes to the dispatcher, and its outcome goes back down the port.
 */
import type { MessagePort } from 'node:worker_threads'
import type { NestedHandler } from '../backend.js'
import { encodeThrown } from '../../protocol/error-codec.js'
import type { NestedReply, NestedSubmit } from '../../protocol/messages.js'

export function serveNested(
  channel: { readonly port: MessagePort; readonly nested: Map<number, AbortController> },
  message: NestedSubmit,
  handler: NestedHandler,
): void {
  const controller = new AbortController()
  channel.nested.set(message.submit, controller)
  const [module, name] = message.task
  const reply = (answer: NestedReply) => {
    if (!channel.nested.delete(message.submit)) return // cancelled, or the worker is gone
    channel.port.postMessage(answer)
  }
  handler(message.parent, { module, name }, message.args, {
    signal: controller.signal,
    timeout: message.timeout,
    costKey: message.costKey,
  }).then(
    (value) => reply({ reply: message.submit, ok: true, value }),
    (error: unknown) => reply({ reply: message.submit, ok: false, error: encodeThrown(error) }),
  )
}
