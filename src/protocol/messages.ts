/**
 * What crosses between the dispatcher and a node. One request carries a batch of calls (so a
 * deep queue costs one message per batch, not per call); parallel arrays clone faster than an
 * array of objects. The same shapes travel as JSON frames to process and SSH nodes.
 */
import type { EncodedThrown } from './error-codec.js'

export const PROTOCOL_VERSION = 1

export interface BatchRequest {
  /** The distinct tasks of this batch as [module URL, export name]; calls refer to them by index. */
  readonly fns: ReadonlyArray<readonly [module: string, name: string]>
  /** Per call: its sequence number (unique in the pool), used to blame crashes. */
  readonly seq: readonly number[]
  /** Per call: index into `fns`. */
  readonly fn: readonly number[]
  /** Per call: its arguments. */
  readonly args: ReadonlyArray<readonly unknown[]>
}

export interface BatchResponse {
  /** Per call: its value (undefined where it failed). */
  readonly values: unknown[]
  /** The calls that failed, as [index in batch, encoded thrown value]; absent when none did. */
  readonly errors?: Array<[number, EncodedThrown]>
  /** Milliseconds the node spent running the batch (feeds adaptive batch sizing). */
  readonly ms: number
}
