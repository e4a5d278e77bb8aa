/**
 * What crosses between the dispatcher and a node, on every transport: a worker thread's port,
 * a process agent's IPC channel, an SSH host's frames. One request carries a batch of calls, so
 * a deep queue costs one message per batch, not per call. Both are flat arrays: a structured
 * clone costs per object, and on a sequential round trip every ~0.1 µs shows. Every other
 * message is an object tagged by its one key (`output`, `submit`, `done`, ...); the unions at
 * the end say which way each goes, and which transports carry it.
 *
 * Tasks are named by a numeric id, defined (module URL and export name) in the first request
 * that a node's current worker receives with it, and by id alone after that.
 */
import type { EncodedThrown } from './error-codec.js'

/** A task's id (unique in this process), module URL and export name. */
export type TaskDefinition = readonly [id: number, module: string, name: string]

/**
 * `[definitions, batch, claim, traces, members, seq₀, task₀, args₀, seq₁, task₁, args₁, ...]`:
 * the task definitions this node has not had yet (or `undefined`), the batch's id (answers can
 * overtake each other), the index of its claim word on a worker thread (protocol/claims.ts; set
 * by the thread node that posts it, NO_CLAIM elsewhere), the W3C traceparent of each traced call
 * by its index in the batch (`undefined` when none is traced: observe/otel.ts), the node's new
 * place in the pool once nodes have joined or left (`undefined` otherwise: dispatch/
 * membership.ts), then per call its sequence number (unique in the pool, used to blame
 * crashes), its task id and its arguments.
 */
export type BatchRequest = [
  definitions: TaskDefinition[] | undefined,
  batch: number,
  claim: number,
  traces: Traces | undefined,
  members: MembersUpdate | undefined,
  ...calls: unknown[],
]

/** A node's place among the pool's members: its rank, how many there are, and their names in rank order. */
export type MembersUpdate = readonly [rank: number, totalNodes: number, peers: readonly string[]]

/** Per call of a batch, by index: its span's traceparent, or undefined (a sparse array). */
export type Traces = Array<string | undefined>

/**
 * `[ms, errors, batch, value₀, value₁, ...]`: the milliseconds the node spent (feeds adaptive
 * batch sizing), the failed calls as `[index, encoded thrown value]` in index order (or
 * `undefined`), the batch's id, then one value per call (`undefined` where it failed).
 */
export type BatchResponse = [
  ms: number,
  errors: Array<[number, EncodedThrown]> | undefined,
  batch: number,
  ...values: unknown[],
]

export const CALL_FIELDS = 3
export const REQUEST_HEADER = 5
export const RESPONSE_HEADER = 3

/**
 * Worker → caller: a call that a running task submits to the pool it runs on (parallelMap
 * inside a task). `submit` is its id on that worker; `task` is [module URL, export name].
 */
export interface NestedSubmit {
  readonly submit: number
  /** The sequence number of the call that submits it. */
  readonly parent: number
  readonly task: readonly [module: string, name: string]
  readonly args: readonly unknown[]
  readonly timeout: number | undefined
  readonly costKey: number | undefined
}

/** Worker → caller: the task no longer wants nested call `cancel`. */
export interface NestedCancel {
  readonly cancel: number
}

/**
 * Worker → caller: one whole line a task printed (worker/output.ts), tagged with the call that
 * printed it (`seq`, 0 outside any call) and the stream (1 stdout, 2 stderr), without its newline.
 */
export interface OutputLine {
  readonly output: readonly [seq: number, stream: 1 | 2, text: string]
}

/**
 * Worker → caller: results a running call sends ahead of its answer (map/worker/map-partial.ts: a
 * long map chunk's finished items, on a pool of other processes or hosts), tagged with the call
 * (`seq`). They survive the loss of the node, so a chunk run again runs only the rest.
 */
export interface PartialResult {
  readonly partial: readonly [seq: number, data: unknown]
}

/** Caller → worker: how nested call `reply` ended. */
export interface NestedReply {
  readonly reply: number
  readonly ok: boolean
  readonly value?: unknown
  readonly error?: EncodedThrown
}

/** Caller → agent: end batch `stop` now (its BatchControl's `'stop'`). */
export interface StopBatch {
  readonly stop: number
}

/** Caller → agent: take batch `revoke` back if it has not started (it then fails as `'revoked'`); one that started runs on. */
export interface RevokeBatch {
  readonly revoke: number
}

/** Agent → caller: it is up, and can run batches. */
export interface AgentReady {
  readonly ready: true
  readonly pid: number
}

/**
 * Agent → caller: batches whose calls began on its threads (several together, and none whose
 * answer went first). A batch of a lost agent never said to have begun goes back to the queue
 * free (backends/agent/agent-batches.ts).
 */
export interface BatchesStarted {
  readonly started: readonly number[]
}

/** Agent → caller: a batch's answer (a thread posts the BatchResponse itself). */
export interface BatchDone {
  readonly done: BatchResponse
}

/** Agent → caller: batch `failed` did not come back from its thread (the thread backend's NodeFailure, flattened). */
export interface BatchFailed {
  readonly failed: number
  readonly failure: FailureData
}

/** A batch's NodeFailure, flattened to travel. */
export interface FailureData {
  readonly reason: 'crash' | 'aborted' | 'revoked'
  readonly message: string
  readonly exitCode: number | null | undefined
  readonly crash: CrashReport | undefined
  readonly interrupted: boolean
  readonly cause: EncodedThrown | undefined
  /** The worker exited under an item of a map chunk, the crash's owner: what it left (agent/agent-rescue.ts). */
  readonly rescue: Rescue | undefined
}

/**
 * What a map chunk's worker left when it exited under one of the chunk's items (worker/
 * chunk-exits.ts writes it on the worker; an agent sends it with the batch's failure).
 */
export interface Rescue {
  /** Offset in the chunk of the item that was running. */
  readonly at: number
  /** Results of the items before it: an array chunk's when they fitted; undefined for a typed array's (in shared memory already). */
  readonly values: unknown[] | undefined
  /** Items before it that failed, as [offset in the chunk, encoded thrown value]. */
  readonly errors: Array<[number, EncodedThrown]> | undefined
  /** The results of the items before it did not fit: they run again. */
  readonly lost: boolean
}

/** Which call a dying worker was running and what it threw (worker/crash-slot.ts writes it). */
export interface CrashReport {
  /** Sequence number of the call whose code was running (or whose timer fired); -1 if unknown. */
  owner: number
  /** That call's task label, when known. */
  task?: string
  /** What it threw, when the crash was an uncaught error rather than process.exit. */
  error?: EncodedThrown
}

/** Caller → worker thread. */
export type ToWorker = BatchRequest | NestedReply
/** Worker thread → caller. */
export type FromWorker = BatchResponse | NestedSubmit | NestedCancel | OutputLine | PartialResult
/** Caller → node agent (over IPC, or as SSH frames, which add their own handshake: ssh/frames.ts). */
export type ToAgent = ToWorker | StopBatch | RevokeBatch
/** Node agent → caller. */
export type FromAgent = AgentReady | BatchesStarted | BatchDone | BatchFailed | NestedSubmit | OutputLine | PartialResult
/** Every message of every transport. */
export type WireMessage = ToAgent | FromWorker | FromAgent

export function callCount(request: BatchRequest): number {
  return (request.length - REQUEST_HEADER) / CALL_FIELDS
}
