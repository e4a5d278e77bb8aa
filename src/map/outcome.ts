/** What the map engine yields per chunk, wherever the chunk ran. */
import { MapItemError } from '../errors.js'

export interface ChunkOutcome {
  /** Index of the chunk's first item in the input. */
  readonly start: number
  /** How many items the chunk covers. */
  readonly count: number
  /** Per item, its result (array inputs; typed arrays write into `SharedArrays.output`). */
  readonly values: unknown[] | undefined
  /** Failed items, as [offset in the chunk, error]. */
  readonly errors: Array<[number, MapItemError]> | undefined
  /** Time the chunk took where it ran, when measured (worker chunks). */
  readonly ms?: number | undefined
  /** Set when an item returned a promise (worker chunks). */
  readonly async?: true | undefined
}

/** A typed array input, shared with the workers, and the output they write into. */
export interface SharedArrays {
  /** The caller's array: what this thread reads (no copy needed here). */
  readonly original: TypedArray
  /** The input in shared memory: what workers read; a range is there once `stage` copied it. */
  readonly input: TypedArray
  /** Where results go (workers and this thread alike): what the caller gets. */
  readonly output: TypedArray
  /** Copies `[start, end)` of the input into shared memory (a no-op when it is there already). */
  stage(start: number, end: number): void
}

export type TypedArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray

export function itemError(index: number, thrown: unknown): MapItemError {
  if (thrown instanceof MapItemError) return thrown
  const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : `threw ${String(thrown)}`
  return new MapItemError(`parallelMap item ${index} failed: ${what}`, index, { cause: thrown })
}

/** Every item of a chunk failed together (its worker was lost for good, it timed out, ...). */
export function chunkFailed(start: number, count: number, thrown: unknown): ChunkOutcome {
  const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)
  const errors: Array<[number, MapItemError]> = []
  for (let i = 0; i < count; i++) {
    const range = count === 1 ? `item ${start}` : `items ${start}–${start + count - 1} (run as one chunk)`
    errors.push([i, new MapItemError(`parallelMap ${range} failed: ${what}`, start + i, { cause: thrown })])
  }
  return { start, count, values: undefined, errors }
}
