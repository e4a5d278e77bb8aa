import { AsyncLocalStorage } from 'node:async_hooks'
import { SpindleError } from '../errors.js'
import type { CallSink } from '../task/call-sink.js'
import type { Owner } from './crash-slot.js'

export type BackendKind = 'thread' | 'process' | 'ssh' | 'redis' | 'inline'

/** What a running task can learn about where it runs (skyward's `instance_info()`). */
export interface InstanceInfo {
  /** This node's index, 0-based: a worker thread, a child process or a host, per backend. */
  readonly node: number
  /** How many nodes the pool has now (nodes may join and leave while it runs). */
  readonly totalNodes: number
  /**
   * This node's place among the pool's nodes now, 0 to `totalNodes - 1`: what `shard()` divides
   * by. It equals `node` unless nodes have joined or left (a node's index is never reused).
   */
  readonly rank: number
  /** This worker's index within its node. */
  readonly worker: number
  /** Worker threads per node (1 on the thread and inline backends). */
  readonly workersPerNode: number
  /** True on the head node: the first of the pool's nodes (rank 0). */
  readonly isHead: boolean
  /** One name per node, in node order: host names on SSH, `thread-0`, `process-1`, ... locally. */
  readonly peers: readonly string[]
  /** The same on every node of one pool; differs between pools. */
  readonly jobId: string
  readonly backend: BackendKind
}

// Kept on globalThis so that every copy of this module in a thread (a task module may load
// spindle from another path than the worker runtime did) sees the same context.
export interface TaskContext {
  readonly info: InstanceInfo
  /** The pool the task runs on, for work the task fans out itself (parallelMap in a task). */
  readonly pool: CallSink | undefined
}
/** Whose code runs: set per call by the runtime, inherited by the promises and timers the call starts. */
export interface CallOwner extends Owner {
  /** Where the call runs, for calls of the inline backend (a worker has one place: `worker`). */
  readonly place?: TaskContext
  /** The W3C traceparent of the call's span, for a traced call (worker/trace-context.ts). */
  readonly traceparent?: string
}
interface ContextState {
  worker: TaskContext | undefined
  calls: AsyncLocalStorage<CallOwner>
  /** Where a worker sends results ahead of a call's answer (PartialResult), once it has a port. */
  partials?: ((seq: number, data: unknown) => void) | undefined
}
const KEY = Symbol.for('spindle.taskContext.v2')
const holder = globalThis as unknown as Record<symbol, ContextState | undefined>
const state: ContextState = (holder[KEY] ??= { worker: undefined, calls: new AsyncLocalStorage() })

/** Which call's code runs now, on this thread. */
export const callOwners: AsyncLocalStorage<CallOwner> = state.calls

/** Called once by a worker runtime: every task on this thread runs on this node. */
export function setWorkerContext(info: InstanceInfo, pool?: CallSink): void {
  state.worker = { info: Object.freeze({ ...info, peers: Object.freeze([...info.peers]) }), pool }
}

/** A batch told this worker's node its new place in the pool (dispatch/membership.ts): tasks from now on see it. */
export function setMembers(rank: number, totalNodes: number, peers: readonly string[]): void {
  const worker = state.worker
  if (worker === undefined) return
  const info = Object.freeze({ ...worker.info, rank, totalNodes, isHead: rank === 0, peers: Object.freeze([...peers]) })
  state.worker = { info, pool: worker.pool }
}

/** Called once by a worker runtime: where `sendPartial` posts. */
export function sendPartialsTo(send: (seq: number, data: unknown) => void): void {
  state.partials = send
}

/**
 * Sends results of the running call ahead of its answer (map/worker/map-partial.ts); false where
 * nothing can carry them (outside a call, or not on a worker).
 */
export function sendPartial(data: unknown): boolean {
  const seq = state.calls.getStore()?.seq
  if (seq === undefined || state.partials === undefined) return false
  state.partials(seq, data)
  return true
}

/** The context of the task running now, or undefined outside a task. */
export function currentContext(): InstanceInfo | undefined {
  return (state.calls.getStore()?.place ?? state.worker)?.info
}

/** The pool the running task is on, or undefined outside a task. */
export function currentPool(): CallSink | undefined {
  return (state.calls.getStore()?.place ?? state.worker)?.pool
}

/**
 * Where the calling task runs. Throws `ERR_SPINDLE_NOT_IN_TASK` outside a task: call it from a
 * function that runs through `compute.run`, `broadcast` or `parallelMap`.
 */
export function instanceInfo(): InstanceInfo {
  const info = currentContext()
  if (info === undefined) {
    throw new SpindleError(
      'ERR_SPINDLE_NOT_IN_TASK',
      'instanceInfo() was called outside a task. Call it inside a function that runs on a pool ' +
        '(compute.run, compute.broadcast, parallelMap).',
    )
  }
  return info
}
