/**
 * The contract between the dispatcher and a place that runs batches. A backend is a list of
 * nodes that may grow (nodes join) and whose members may leave; each node runs up to `slots`
 * batches at once, reports every batch's fate, and says where it is in its life (`NodeState`).
 * It knows nothing of queues, retries or Pendings: that is the dispatcher's job, written once.
 */
import type { CrashReport } from '../worker/crash-slot.js'
import type { Rescue } from '../protocol/messages.js'
import type { BatchRequest, BatchResponse } from '../protocol/messages.js'
import type { BackendKind } from '../worker/context.js'
import type { CallOptions } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'

/** Runs a call that a task running on this node submitted itself (parallelMap inside a task). */
export type NestedHandler = (
  parent: number,
  task: TaskRef,
  args: readonly unknown[],
  options: CallOptions,
) => Promise<unknown>

/** Where a node sends the lines its tasks print (see protocol/messages.ts `OutputLine`). */
export type OutputHandler = (seq: number, stream: 1 | 2, text: string) => void

/** Where a node sends results a running call sent ahead of its answer (protocol/messages.ts `PartialResult`). */
export type PartialHandler = (seq: number, data: unknown) => void

/**
 * A change in a node's life, as the node reports it (compute/node-events.ts makes the public
 * `NodeEvent` of it). `ready`: its worker (thread), agent (process) or connection (SSH) can run
 * calls. `lost`: it ended while the pool was open; `next` says what the node does about it.
 * `left`: it left the pool of its own accord, after draining (NodeState `closed`).
 * A node that is closing reports nothing.
 */
export type NodeLifecycle =
  | { readonly type: 'ready'; readonly pid?: number | undefined; readonly host?: string | undefined }
  | { readonly type: 'left'; readonly pid?: number | undefined; readonly host?: string | undefined }
  | {
      readonly type: 'lost'
      /** `crash`: it died (an exit, a signal, a fatal error); `stopped`: spindle stopped it to end a call; `start`: it could not start; `connection`: its link ended (an SSH connection, a Redis worker's heartbeat). */
      readonly reason: 'crash' | 'stopped' | 'start' | 'connection'
      readonly cause: Error
      readonly next: 'replace' | 'reconnect' | 'none'
      readonly exitCode?: number | null | undefined
      readonly signal?: string | null | undefined
      readonly pid?: number | undefined
      readonly host?: string | undefined
    }

export interface Backend {
  readonly kind: BackendKind
  /** What a node is called in the prefix of the lines its tasks print (`host 0`): the kind when absent. */
  readonly nodeNoun?: string
  /**
   * Every node that has joined, by `index`: a node's index is never reused, and one that left
   * stays here, `closed`. Backends whose nodes join later append them and tell `serveJoin`'s handler.
   */
  readonly nodes: readonly BackendNode[]
  /**
   * Nodes may join while the pool runs (workers that dial in): the dispatcher installs the
   * handler, called once per node after it is in `nodes`. With no node left, calls wait for one
   * to join (a fixed list fails them instead). Absent: the list is fixed at start.
   */
  serveJoin?(handler: (node: BackendNode) => void): void
  /** Stops every node now; batches still running fail with a NodeFailure. Leaves nothing behind. */
  close(): Promise<void>
}

/**
 * Where a node is in its life, as the dispatcher sees it:
 *
 *     starting ──▶ ready ──▶ draining ──▶ closed
 *        ▲           │
 *        └───────────┤ (lost, coming back: an SSH host reconnecting)
 *                    ▼
 *                  lost   (for good: `lostBecause` says why)
 *
 * - `starting`: joining, or coming back after a loss: it takes no batch yet; calls pinned to it wait.
 * - `ready`: takes batches. A node that can hold batches while its worker starts or is replaced
 *   (a thread's port, an agent's IPC channel) is ready from the start: its losses are its own
 *   business, reported per batch (`NodeFailure`) and as `NodeLifecycle` events.
 * - `draining`: leaving of its own accord: it runs what it has started and takes nothing new;
 *   batches waiting on it are asked back and run elsewhere. Then `closed`.
 * - `lost`: out for good against its will; calls pinned to it fail with `lostBecause`.
 * - `closed`: left the pool, or the pool closed it; calls pinned to it fail.
 *
 * A member of the pool (counted by `totalNodes`, reached by `broadcast`) is a node that is not
 * draining or closed: a lost one stays a member, so a broadcast that needs it says it is lost.
 */
export type NodeState = 'starting' | 'ready' | 'draining' | 'lost' | 'closed'

/** Whether a node in `state` is one of the pool's members (see NodeState). */
export function isMember(state: NodeState): boolean {
  return state !== 'draining' && state !== 'closed'
}

export interface BackendNode {
  /** Index in `Backend.nodes`; also `instanceInfo().node` inside tasks it runs. */
  readonly index: number
  /** How many batches this node runs at once. */
  readonly slots: number
  /**
   * Changes each time the node's worker is replaced: what was sent to the old one (task
   * definitions) must be sent again.
   */
  readonly generation: number
  /** Human name for messages: `thread 2`, `process 1 (pid 4242)`, `alice@10.0.0.5`. */
  describe(): string
  /** Its name in `instanceInfo().peers` (`thread-2`, a host name); `describe()` when absent. */
  readonly peer?: string
  /**
   * Where calls that tasks on this node submit go. Nodes that support fan-out inside a task
   * forward them to `handler`; the dispatcher installs it.
   */
  serveNested?(handler: NestedHandler): void
  /** Where it is in its life; absent on nodes that are always ready (until the pool closes). */
  readonly state?: NodeState
  /** Why the node is lost, once `state` is `'lost'`. */
  readonly lostBecause?: Error | undefined
  /** Called (by the dispatcher) each time `state` changes. */
  watch?(listener: () => void): void
  /**
   * Where the lines tasks print go, each with the call that printed it; the dispatcher installs
   * it to prefix them with what the call is for. Nodes whose tasks share the caller's own
   * streams (inline) have none.
   */
  serveOutput?(handler: OutputHandler): void
  /**
   * Where results that running calls send ahead of their answers go (a long map chunk's, on
   * nodes in other processes or hosts); the dispatcher installs it and hands them to the call.
   */
  servePartial?(handler: PartialHandler): void
  /**
   * Where the node reports its life (NodeLifecycle); Compute installs it. A node already ready
   * (an SSH host, connected at start) reports `ready` at once. Absent: always up (inline).
   */
  serveLifecycle?(handler: (event: NodeLifecycle) => void): void
  /**
   * Runs a batch and reports once: `done` with one outcome per call, or `failed` with a
   * `NodeFailure` when the batch could not finish (the worker died, and the node replaces it; it
   * was stopped; or it was taken back before it started). Returns its control (below).
   * Callbacks rather than a promise, and a function rather than an AbortSignal: nothing is
   * allocated per batch for stopping that almost never happens.
   */
  execute(batch: BatchRequest, done: (response: BatchResponse) => void, failed: (failure: NodeFailure) => void): BatchControl
}

/**
 * What the dispatcher can do to a batch it sent. `'revoke'`: take it back if it has not started
 * (a batch sent ahead waits on its node behind another), reported as a `'revoked'` failure, now
 * or once the node answers; a batch that started goes on. `'stop'`: end it now (a deadline, a
 * cancellation): taken back if it has not started, otherwise its work is stopped, which on a
 * thread means stopping the thread, reported as `'aborted'`.
 */
export type BatchControl = (how: 'revoke' | 'stop') => void

/**
 * Why a batch did not come back: its node crashed, it was stopped, or it was `'revoked'`: it
 * never started (taken back, or its worker died before starting it), so none of its calls ran.
 */
export class NodeFailure extends Error {
  constructor(
    readonly reason: 'crash' | 'aborted' | 'revoked',
    message: string,
    readonly details: {
      exitCode?: number | null
      signal?: string | null
      pid?: number
      crash?: CrashReport | undefined
      stderrTail?: string
      cause?: unknown
      /** Nothing in the batch caused it (the node stopped the worker for another batch): never blame. */
      interrupted?: boolean
      /** The worker exited under an item of the crash owner's map chunk: what it left (a node agent's report). */
      rescue?: Rescue
    } = {},
  ) {
    super(message)
  }
}
