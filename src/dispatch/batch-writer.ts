/**
 * Turning calls into the wire form of a batch. Tasks travel as process-wide numeric ids; a
 * task's definition (module URL, export name) goes to a node only the first time its current
 * worker sees it, and again once the node's `generation` says the worker was replaced.
 */
import type { BackendNode } from '../backends/backend.js'
import { NO_CLAIM } from '../protocol/claims.js'
import type { BatchRequest, MembersUpdate, TaskDefinition, Traces } from '../protocol/messages.js'
import type { TaskRef } from '../task/pending.js'
import type { Call } from './call.js'

/** Process-wide task ids: workers of every pool in this process agree on what an id means. */
const taskIds = new Map<string, number>()
/** The same, by TaskRef object: a remote function's ref is one object, so this skips building the key per call. */
const idsByRef = new WeakMap<TaskRef, number>()

export function taskId(task: TaskRef): number {
  let id = idsByRef.get(task)
  if (id !== undefined) return id
  const key = `${task.name}@${task.module}`
  id = taskIds.get(key)
  if (id === undefined) taskIds.set(key, (id = taskIds.size + 1))
  idsByRef.set(task, id)
  return id
}

export class BatchWriter {
  /** Per node: the task ids its current worker has been sent, and which worker that was. */
  private readonly defined: Array<{ generation: number; ids: Set<number> }> = []
  private nextBatch = 1

  /** `node` joined: it has been sent nothing. */
  addNode(node: BackendNode): void {
    this.defined[node.index] = { generation: node.generation, ids: new Set() }
  }

  /** The wire form of a batch for `node`, with the task definitions its worker has not had yet (and its new place in the pool, if any). */
  request(node: BackendNode, calls: readonly Call[], members: MembersUpdate | undefined): BatchRequest {
    const defined = this.defined[node.index]!
    if (defined.generation !== node.generation) {
      defined.generation = node.generation // a new worker: it knows nothing yet
      defined.ids.clear()
    }
    let definitions: TaskDefinition[] | undefined
    let traces: Traces | undefined
    const request: BatchRequest = [undefined, this.nextBatch++, NO_CLAIM, undefined, members]
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!
      if (!defined.ids.has(call.key)) {
        defined.ids.add(call.key)
        ;(definitions ??= []).push([call.key, call.task.module, call.task.name])
      }
      const traceparent = call.options.traceparent
      if (traceparent !== undefined) (traces ??= [])[i] = traceparent
      request.push(call.seq, call.key, call.args)
    }
    request[0] = definitions
    request[3] = traces
    return request
  }

  /** A request that could not be sent: its worker did not get the definitions it carried. */
  unsent(node: BackendNode, request: BatchRequest): void {
    const defined = this.defined[node.index]!
    if (defined.generation === node.generation) for (const [key] of request[0] ?? []) defined.ids.delete(key)
  }
}
