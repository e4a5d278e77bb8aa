/**
 * The inline backend runs calls on the caller's thread, one batch at a time: for debugging
 * with breakpoints and plain stack traces. It keeps the other backends' semantics where it
 * can: arguments and results are cloned (a task cannot mutate the caller's objects), the same
 * errors arrive, and instanceInfo() answers. It cannot stop a synchronous loop: a timeout
 * settles the call, but the loop runs on.
 */
import { NodeFailure, type Backend, type BackendNode } from '../backend.js'
import { runInContext, type InstanceInfo } from '../../worker/context.js'
import { runBatch } from '../../worker/runtime.js'
import type { BatchRequest, BatchResponse } from '../../protocol/messages.js'

export function startInlineBackend(jobId: string): Backend {
  const info: InstanceInfo = {
    node: 0,
    totalNodes: 1,
    worker: 0,
    workersPerNode: 1,
    isHead: true,
    peers: ['inline'],
    jobId,
    backend: 'inline',
  }
  const node: BackendNode = {
    index: 0,
    slots: 1,
    describe: () => 'inline',
    async execute(batch: BatchRequest, signal?: AbortSignal): Promise<BatchResponse> {
      const run = runInContext(info, () => runBatch(structuredClone(batch)))
      if (signal === undefined) return structuredClone(await run)
      return new Promise<BatchResponse>((resolve, reject) => {
        const onAbort = () => reject(new NodeFailure('aborted', 'aborted'))
        signal.addEventListener('abort', onAbort, { once: true })
        run.then(
          (response) => resolve(structuredClone(response)),
          reject,
        ).finally(() => signal.removeEventListener('abort', onAbort))
      })
    },
  }
  return { kind: 'inline', nodes: [node], close: async () => {} }
}
