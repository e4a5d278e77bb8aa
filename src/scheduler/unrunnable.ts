/**
 * Why a call cannot run, as the errors its caller gets: its pool was closed, or the node it is
 * pinned to (or every node) was lost for good (an SSH host that did not come back).
 */
import { ClosedError, InterruptedError, SshError, type SpindleError } from '../errors.js'
import type { BackendNode } from '../backends/backend.js'
import type { Call } from './call.js'

/** Why `call` can never run: the node it is pinned to, or every node, is gone for good. */
export function nowhereToRun(nodes: readonly BackendNode[], call: Call): InterruptedError | undefined {
  const pinned = call.options.node
  if (pinned !== undefined) return nodes[pinned]!.status === 'gone' ? lostNodeError(call, nodes[pinned]!) : undefined
  if (nodes[0]!.status !== 'gone') return undefined // the common case: O(1) on every submit
  return nodes.every((n) => n.status === 'gone') ? lostNodeError(call, nodes[0]!) : undefined
}

export function lostNodeError(call: Call, node: BackendNode): InterruptedError {
  const why = node.lostBecause?.message ?? `${node.describe()} was lost`
  return new InterruptedError(
    `Task ${call.label} could not run: ${why} ` +
      (call.options.node !== undefined ? 'It was pinned to that node (or broadcast to every node).' : 'No node is left to run it.') +
      // A worker that could not start said what to do; a lost host did not.
      (node.lostBecause instanceof SshError || node.lostBecause === undefined ? ' Check the host, or enable `ssh.reconnect` to wait for it to come back.' : ''),
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
