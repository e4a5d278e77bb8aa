/**
 * Where calls of tasks go, and what a single call may ask: the one interface a pool offers to
 * whoever submits work, whether the dispatcher on the caller's thread or a task on a worker
 * submitting to the pool it runs on (parallelMap inside a task).
 */
import type { TaskRef } from './pending.js'

export interface CallOptions {
  /** Run on this node only (an index). */
  node?: number | undefined
  /** Deadline in ms from the moment the call starts running; the work is stopped at it. */
  timeout?: number | undefined
  /** Cancels the call whether queued or running. */
  signal?: AbortSignal | undefined
  /**
   * What batch sizing learns the cost per call under, when not the task: calls of one task
   * whose cost differs wildly by caller (parallelMap's chunks) get a key per caller.
   */
  costKey?: number | undefined
  /** Told which node each call goes to, and the how-manieth time it runs (pipelines record where a step ran; traces). */
  onDispatch?: ((node: number, attempt: number) => void) | undefined
  /** What the call is for, as traces show it (a pipeline step's name). */
  label?: string | undefined
  /** For a call a running task submitted (parallelMap inside a task): the submitting call's `seq`. */
  parent?: number | undefined
  /**
   * Hears the results the call sends ahead of its answer while it runs (a map chunk's finished
   * items, on pools whose sink has `partialResults`), attempt after attempt.
   */
  onPartial?: ((data: unknown) => void) | undefined
  /** Must travel in a batch of its own (an actor's call: its batch must reach the one thread the actor lives on). */
  solo?: boolean | undefined
  /** The W3C traceparent of the call's span (observe/otel.ts): it travels with the call, and the task runs inside it. */
  traceparent?: string | undefined
}

/** Somewhere to submit single calls: a pool, seen from the caller's thread or from inside a task. */
export interface CallSink {
  /** How many nodes share the calls (what chunking divides work over). */
  readonly nodes: number
  /** Whether a SharedArrayBuffer reaches the nodes as shared memory (not across processes). */
  readonly sharedMemory: boolean
  /** Set when calls run on threads other than the caller's (a thread pool seen from its owner): background work there costs the caller nothing. */
  readonly offThread?: true
  /** Set when a call's results sent ahead of its answer reach `onPartial` (processes and SSH hosts, seen from the caller). */
  readonly partialResults?: true
  submit(task: TaskRef, args: readonly unknown[], options: CallOptions): Promise<unknown>
}
