/**
 * Why a call cannot run, as the errors its caller gets: its pool was closed, or the node it is
 * pinned to (or every node) was lost for good (an SSH host that did not come back).
 */
import { ClosedError, InterruptedError, SshError, type SpindleError } from '../errors.js'
import type { Backend, BackendNode } from '../backends/backend.js'
import type { Call } from './call.js'
import type { CallQueue } from './call-queue.js'

/** Whether `node` will never run another call: lost for good, leaving or left. */
export function outForGood(node: BackendNode): boolean {
  const state = node.state
  return state === 'lost' || state === 'draining' || state === 'closed'
}

/** No node can run anything now or later: each is out for good, and none may join (a fixed list). */
export function noNodeLeft(backend: Backend): boolean {
  return backend.serveJoin === undefined && backend.nodes.every(outForGood)
}

/** Why `call` can never run: the node it is pinned to is out for good, or no node is left. */
export function nowhereToRun(backend: Backend, call: Call): InterruptedError | undefined {
  const { nodes } = backend
  const pinned = call.options.node
  if (pinned !== undefined) return outForGood(nodes[pinned]!) ? lostNodeError(call, nodes[pinned]!) : undefined
  if (nodes[0]?.state === undefined || nodes[0].state === 'ready') return undefined // the common case: O(1) on every submit
  return noNodeLeft(backend) ? lostNodeError(call, nodes[0]!) : undefined
}

/** `node` is out for good: the calls queued for it fail, and every queued call when no node is left. */
export function failStranded(waiting: CallQueue, backend: Backend, node: BackendNode): void {
  for (const call of waiting.drain(noNodeLeft(backend) ? undefined : node.index)) {
    call.reject(lostNodeError(call, backend.nodes[call.options.node ?? node.index]!))
  }
}

export function lostNodeError(call: Call, node: BackendNode): InterruptedError {
  const why = node.lostBecause?.message ?? `${node.describe()} ${node.state === 'lost' ? 'was lost' : 'left the pool'}.`
  return new InterruptedError(
    `Task ${call.label} could not run: ${why} ` +
      (call.options.node !== undefined ? 'It was pinned to that node (or broadcast to every node).' : 'No node is left to run it.') +
      // A worker that could not start said what to do; a lost host did not.
      (node.lostBecause instanceof SshError ? ' Check the host, or enable `ssh.reconnect` to wait for it to come back.' : ''),
    call.interruptions,
    { cause: node.lostBecause },
  )
}

export function closedError(call: Call): SpindleError {
  return new ClosedError(
    `The pool was closed before task ${call.label} could finish. ` +
      'Await your calls before close(), or raise `closeTimeout` to let running work end.',
  )
}
