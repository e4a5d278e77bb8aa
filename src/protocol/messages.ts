/**
 * What crosses between the dispatcher and a node. One request carries a batch of calls, so a
 * deep queue costs one message per batch, not per call. Both messages are flat arrays: a
 * structured clone costs per object, and on a sequential round trip every ~0.1 µs shows. The
 * same arrays travel as JSON frames to process and SSH nodes.
 *
 * Tasks are named by a numeric id, defined (module URL and export name) in the first request
 * that a node's current worker receives with it, and by id alone after that.
 */
import type { EncodedThrown } from './error-codec.js'

export const PROTOCOL_VERSION = 1

/** A task's id (unique in this process), module URL and export name. */
export type TaskDefinition = readonly [id: number, module: string, name: string]

/**
 * `[definitions, seq₀, task₀, args₀, seq₁, task₁, args₁, ...]`: the task definitions this node
 * has not had yet (or `undefined`), then per call its sequence number (unique in the pool, used
 * to blame crashes), its task id and its arguments.
 */
export type BatchRequest = [definitions: TaskDefinition[] | undefined, ...calls: unknown[]]

/**
 * `[ms, errors, value₀, value₁, ...]`: the milliseconds the node spent (feeds adaptive batch
 * sizing), the failed calls as `[index, encoded thrown value]` in index order (or `undefined`),
 * then one value per call (`undefined` where it failed).
 */
export type BatchResponse = [ms: number, errors: Array<[number, EncodedThrown]> | undefined, ...values: unknown[]]

export const CALL_FIELDS = 3
export const REQUEST_HEADER = 1
export const RESPONSE_HEADER = 2

export function callCount(request: BatchRequest): number {
  return (request.length - REQUEST_HEADER) / CALL_FIELDS
}
