/**
 * What crosses between the dispatcher and a node. One request carries a batch of calls, so a
 * deep queue costs one message per batch, not per call. Both messages are flat arrays: a
 * structured clone costs per object, and on a sequential round trip every ~0.1 µs shows. The
 * same arrays travel over IPC to process nodes and as v8-serialized frames to SSH nodes.
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
 * place in the pool once nodes have joined or left (`undefined` otherwise: scheduler/
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
 * Worker → caller: results a running call sends ahead of its answer (worker/map-partial.ts: a
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

export function callCount(request: BatchRequest): number {
  return (request.length - REQUEST_HEADER) / CALL_FIELDS
}
