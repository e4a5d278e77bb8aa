/**
 * The inline backend runs calls on the caller's thread, one batch at a time: for debugging
 * with breakpoints and plain stack traces. It keeps the other backends' semantics where it
 * can: arguments and results are cloned (a task cannot mutate the caller's objects), the same
 * errors arrive, and instanceInfo() answers. It cannot stop a synchronous loop: a timeout
 * settles the call, but the loop runs on.
 */
import { NodeFailure, type Backend, type BackendNode, type NestedHandler } from '../backend.js'
import type { CallSink } from '../../task/call-sink.js'
import type { InstanceInfo, TaskContext } from '../../worker/context.js'
import { currentCallSeq, runBatch, unsendableResponse } from '../../worker/runtime.js'
import type { BatchRequest, BatchResponse } from '../../protocol/messages.js'

export function startInlineBackend(jobId: string): Backend {
  const info: InstanceInfo = {
    node: 0,
    rank: 0,
    totalNodes: 1,
    worker: 0,
    workersPerNode: 1,
    isHead: true,
    peers: ['inline'],
    jobId,
    backend: 'inline',
  }
  let nested: NestedHandler | undefined
  // Tasks that fan out (parallelMap in a task) submit to this same pool.
  const pool: CallSink = {
    nodes: 1,
    sharedMemory: true,
    submit: (task, args, options) =>
      nested === undefined
        ? Promise.reject(new Error('the inline pool is not serving calls'))
        : nested(currentCallSeq() ?? -1, task, args, options),
  }
  const place: TaskContext = { info, pool }
  const node: BackendNode = {
    index: 0,
    slots: 1,
    generation: 0,
    describe: () => 'inline',
    serveNested: (handler) => void (nested = handler),
    execute(batch, done, failed) {
      let settled = false
      const settle = (report: () => void) => {
        if (settled) return
        settled = true
        report()
      }
      const request = structuredClone(batch) // throws for a value clone refuses: the dispatcher sorts that out
      Promise.resolve(runBatch(request, place)).then(
        (response) => settle(() => done(cloneResponse(request, response))),
        (error: unknown) => settle(() => failed(new NodeFailure('crash', String(error), { cause: error }))),
      )
      // A batch starts as it is sent: nothing to take back. Stopping cannot end code on this
      // thread; it stops waiting for it.
      return (how) => how === 'stop' && settle(() => failed(new NodeFailure('aborted', 'aborted')))
    },
  }
  return { kind: 'inline', nodes: [node], close: async () => {} }
}

/** The response as a thread's answer would arrive: cloned, a value clone refuses failing its own call. */
function cloneResponse(request: BatchRequest, response: BatchResponse): BatchResponse {
  try {
    return structuredClone(response)
  } catch (thrown) {
    return structuredClone(unsendableResponse(request, response, thrown))
  }
}
