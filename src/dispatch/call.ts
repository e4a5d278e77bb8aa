/** One submitted call as the dispatcher tracks it, from queued to settled. */
import { taskLabel, type TaskRef } from '../task/pending.js'
import type { BackendNode, BatchControl } from '../backends/backend.js'
import type { CallOptions } from '../task/call-sink.js'
import type { AbortWatch } from './abort-watch.js'

/**
 * Watches every call of a dispatcher (run recorders, traces). The dispatcher calls it only when
 * one is set, and passes its own objects: watching costs nothing when nobody watches.
 * The observer reads the clock itself, so the dispatcher never does on its behalf.
 */
export interface CallObserver {
  /**
   * Submitted, or put back in the queue after its node was lost (`call.interruptions` > 0), or
   * `takenBack` from a node before it started there (it never ran on that node).
   */
  queued(call: Call, takenBack?: boolean): void
  /** Sent to `node` in a batch of `calls` (the batch runs on the node in this order). */
  sent(calls: readonly Call[], node: number): void
  /** The node answered for the batch: it took `ms` on the node, for all its calls together. */
  ran(calls: readonly Call[], ms: number): void
  /** Settled for good: resolved (`error` undefined, `failed` false) or rejected. */
  settled(call: Call, failed: boolean, error: unknown): void
}

export type CallState = 'queued' | 'running' | 'settled'

export class Call {
  state: CallState = 'queued'
  /** How many times a lost worker, process or host interrupted it. */
  interruptions = 0
  /** Must run in a batch of its own (set after an unexplained crash of a shared batch, or asked for: `CallOptions.solo`). */
  solo = false
  batch: RunningBatch | undefined = undefined
  /** Watching `options.signal` for this call, until it settles. */
  abortWatch: AbortWatch<Call> | undefined = undefined
  /** When it was queued (`performance.now()`, read once per tick of submits): its wait is sampled when sent. */
  queuedAt = 0

  constructor(
    readonly seq: number,
    readonly task: TaskRef,
    /** The task's process-wide id: what the wire carries. */
    readonly key: number,
    readonly args: readonly unknown[],
    readonly options: CallOptions,
    private readonly onResolve: (value: unknown) => void,
    private readonly onReject: (reason: unknown) => void,
  ) {
    if (options.solo === true) this.solo = true
  }

  /** What batch sizing learns per. */
  get costKey(): number {
    return this.options.costKey ?? this.key
  }

  get label(): string {
    return taskLabel(this.task)
  }

  get settled(): boolean {
    return this.state === 'settled'
  }

  resolve(value: unknown): void {
    if (this.finish()) this.onResolve(value)
  }

  reject(reason: unknown): void {
    if (this.finish()) this.onReject(reason)
  }

  private finish(): boolean {
    if (this.state === 'settled') return false
    this.state = 'settled'
    this.batch = undefined
    this.abortWatch?.unwatch(this, this.options.signal!)
    return true
  }
}

/**
 * A call whose observer hears how it settles, whichever way (answer, blame, deadline,
 * cancellation, close). Kept out of `Dispatcher.submit` so that an unwatched submit creates no
 * closures.
 */
export function watchedCall(
  observer: CallObserver,
  seq: number,
  task: TaskRef,
  key: number,
  args: readonly unknown[],
  options: CallOptions,
  resolve: (value: unknown) => void,
  reject: (reason: unknown) => void,
): Call {
  const call: Call = new Call(
    seq,
    task,
    key,
    args,
    options,
    (value) => (observer.settled(call, false, undefined), resolve(value)),
    (reason) => (observer.settled(call, true, reason), reject(reason)),
  )
  observer.queued(call)
  return call
}

/** A batch on its way to or running on a node. */
export interface RunningBatch {
  readonly node: BackendNode
  readonly calls: Call[]
  /** Takes the batch back or ends it on its node (set once sent). */
  control: BatchControl | undefined
  /** Asked to be taken back for an idle node once already (it had started, or the answer is on its way). */
  revoking: boolean
  timer: NodeJS.Timeout | undefined
  /** When it was sent (DispatchStats' clock): its calls' wait ends here. */
  readonly sentAt: number
}
