/** The shapes a map chunk travels in, to the worker and back: shared by the chunk task and what sends its results ahead. */
import type { EncodedThrown } from '../../protocol/error-codec.js'

/**
 * Items as an array, or a range of a typed array in shared memory (results go to `output`);
 * `rescue` where an exit under an item is to fail that item alone (chunk-exits.ts): a buffer the
 * caller shares with the worker, or `true`, asking the node agent that runs it for one. `from`, where the
 * caller keeps results sent ahead (map-partial.ts): the offset of the first item to run, the
 * items before it having their results already; the caller moves it as results arrive.
 */
export type ChunkItems =
  | { readonly kind: 'array'; readonly items: readonly unknown[]; readonly rescue?: ChunkRescue; from?: number }
  | { readonly kind: 'shared'; readonly input: TypedArray; readonly output: TypedArray; readonly end: number; readonly rescue?: ChunkRescue }

/** A chunk's rescue buffer, or `true` until the node agent that runs it gives it one. */
type ChunkRescue = SharedArrayBuffer | true

export type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array | Uint8ClampedArray

export interface ChunkResult {
  /** Results in item order (array chunks only), from offset `from`. */
  values?: unknown[]
  /** Set when the results before this offset were sent ahead (map-partial.ts), or ran before (the chunk's `from`). */
  from?: number
  /** Failed items as [offset in chunk, encoded thrown value]. */
  errors?: Array<[number, EncodedThrown]>
  /** With stopOnError: the offset of the first failure; items after it did not run. */
  stoppedAt?: number
  /** Milliseconds the chunk took on the worker (the engine sizes chunks by it); not for a chunk run from `from`. */
  ms?: number
  /** Set when an item returned a promise: the function's cost is not CPU, and it never runs on the caller. */
  async?: true
}
