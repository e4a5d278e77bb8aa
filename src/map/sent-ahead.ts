/**
 * The caller's side of the results a long chunk sends ahead of its answer, on pools of other
 * processes or hosts (map/worker/map-partial.ts). They are kept as they arrive and the chunk's `from`
 * moves past them: the chunk's arguments are read again for every attempt, so an attempt after
 * its agent was lost runs only the rest. The answer then joins them; a chunk that fails for good
 * keeps them, and only the items from `from` on fail.
 */
import type { MapItemError } from '../errors.js'
import { decodeThrown } from '../protocol/error-codec.js'
import type { ChunkResult } from './worker/map-chunk.js'
import type { PartialData } from './worker/map-partial.js'
import { chunkFailed, itemError, type ChunkOutcome } from './outcome.js'

export class SentAhead {
  /** Results by offset, once some arrived (most chunks send none: they end within 25 ms). */
  private values: unknown[] | undefined
  private readonly errors: Array<[number, MapItemError]> = []

  constructor(
    /** The chunk as its call's arguments hold it. */
    private readonly chunk: { from?: number },
    private readonly start: number,
    private readonly count: number,
  ) {
    chunk.from = 0
  }

  /** Offset of the first item without a result here. */
  get from(): number {
    return this.chunk.from!
  }

  /** Results the running attempt sent (the dispatcher's `onPartial`). */
  readonly add = (data: unknown): void => {
    const { from, values, errors } = data as PartialData
    if (from !== this.chunk.from) return // not where this chunk stands (never sent so): ignored
    const kept = (this.values ??= new Array<unknown>(this.count))
    for (let i = 0; i < values.length; i++) kept[from + i] = values[i]
    for (const [i, e] of errors ?? []) this.errors.push([i, itemError(this.start + i, decodeThrown(e))])
    this.chunk.from = from + values.length
  }

  /** The answer (its results from `result.from`) with the results kept before it. */
  answered(result: ChunkResult, count: number): ChunkOutcome {
    const from = result.from ?? 0
    const values = (this.values ??= new Array<unknown>(this.count))
    result.values?.forEach((value, i) => (values[from + i] = value))
    for (const [i, e] of result.errors ?? []) this.errors.push([i, itemError(this.start + i, decodeThrown(e))])
    return { start: this.start, count, values, errors: this.errors.length > 0 ? this.errors : undefined, ms: result.ms, async: result.async }
  }

  /** The chunk failed for good (`thrown`): the items from `from` on fail with it, those before keep their results. */
  failed(thrown: unknown): ChunkOutcome {
    const from = this.from
    const rest = chunkFailed(this.start + from, this.count - from, thrown)
    const errors = [...this.errors, ...rest.errors!.map(([i, e]): [number, MapItemError] => [from + i, e])]
    return { start: this.start, count: this.count, values: this.values ?? new Array<unknown>(this.count), errors }
  }
}
