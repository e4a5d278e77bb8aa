/**
 * Running the map's function on the calling thread: the probe that measures what an item costs,
 * and the whole map when workers cannot pay for themselves (items cheaper than sending them).
 */
import { MapItemError } from '../errors.js'
import type { CostEstimate } from './chunking.js'
import type { ItemFn } from './fn-spec.js'
import { itemError, type ChunkOutcome, type SharedArrays } from './outcome.js'

const PROBE_MS = 0.5

export interface Probe {
  /** What ran, as an outcome (may be empty). */
  readonly outcome: ChunkOutcome
  /** The cost per item, or undefined when the function is async (its cost is not CPU here). */
  readonly cost: CostEstimate | undefined
}

/**
 * Runs items from the front of `items` until ~0.5 ms has passed, and estimates the cost of an
 * item and of sending it (structured clone of a sample of items and results, both ways).
 */
export async function probe(
  fn: ItemFn,
  items: ArrayLike<unknown>,
  start: number,
  shared: SharedArrays | undefined,
): Promise<Probe> {
  const values: unknown[] = []
  let errors: Array<[number, MapItemError]> | undefined
  const began = performance.now()
  let elapsed = 0
  let i = 0
  let async = false
  for (let batch = 1; i < items.length && elapsed < PROBE_MS; batch *= 2) {
    for (const end = Math.min(items.length, i + batch); i < end; i++) {
      try {
        let value = fn(shared === undefined ? items[i] : shared.input[start + i], start + i)
        if (value instanceof Promise) {
          // An async function: its cost is not CPU on this thread, so there is nothing to
          // measure. This item is done here (exactly once); the rest go to the workers.
          async = true
          value = await value
        }
        if (shared === undefined) values[i] = value
        else shared.output[start + i] = value as number
      } catch (thrown) {
        ;(errors ??= []).push([i, itemError(start + i, thrown)])
      }
      if (async) {
        i++
        break
      }
    }
    if (async) break
    elapsed = performance.now() - began
  }
  const count = i
  const outcome: ChunkOutcome = { start, count, values: shared === undefined ? values : undefined, errors }
  if (async || count === 0) return { outcome, cost: undefined }
  return { outcome, cost: { msPerItem: elapsed / count, transferMsPerItem: shared ? 0 : transferCost(items, values, count) } }
}

/** This thread's share of sending `count` items and getting their results: half a clone each way. */
function transferCost(items: ArrayLike<unknown>, values: readonly unknown[], count: number): number {
  const sample = Math.min(count, 256)
  const began = performance.now()
  structuredClone(Array.prototype.slice.call(items, 0, sample))
  structuredClone(values.slice(0, sample))
  return (performance.now() - began) / 2 / sample
}

/** Maps a block of items on this thread. */
export function runBlock(
  fn: ItemFn,
  items: ArrayLike<unknown>,
  start: number,
  count: number,
  shared: SharedArrays | undefined,
  stopOnError: boolean,
): ChunkOutcome {
  const values: unknown[] | undefined = shared === undefined ? new Array(count) : undefined
  let errors: Array<[number, MapItemError]> | undefined
  for (let i = 0; i < count; i++) {
    try {
      if (shared === undefined) values![i] = fn(items[i], start + i)
      else shared.output[start + i] = fn(shared.input[start + i], start + i) as number
    } catch (thrown) {
      ;(errors ??= []).push([i, itemError(start + i, thrown)])
      if (stopOnError) return { start, count: i + 1, values, errors }
    }
  }
  return { start, count, values, errors }
}
