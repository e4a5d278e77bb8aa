/**
 * Running the map's function on the calling thread, only where the user allows it (`callerRuns`):
 * the probe that measures what an item costs warm, and the rest of the map when workers cannot
 * pay for themselves (items cheaper than sending them).
 */
import { MapItemError } from '../errors.js'
import type { CostEstimate } from './chunking.js'
import type { ItemFn } from './fn-spec.js'
import { itemError, type ChunkOutcome } from './outcome.js'
import { isThenable } from '../thenable.js'

const PROBE_MS = 0.5
const PROBE_MAX_MS = 5
const PROBE_WARM_ITEMS = 32_768

export interface Probe {
  /** What ran, as an outcome (may be empty). */
  readonly outcome: ChunkOutcome
  /** The cost per item, or undefined when the function is async (its cost is not CPU here). */
  readonly cost: CostEstimate | undefined
}

/**
 * Runs items from the front of `items`, in batches of doubling size, until ~0.5 ms has passed,
 * and estimates the cost of an item from the last (warmest) batch, since the first calls of a
 * function run before the JIT has compiled it; and the cost of sending one (structured clone of
 * a sample of items and results, both ways). With `pull`, `items` is an array that grows only as
 * batches need more (a lazy source: items are taken as the probe runs them, not ahead of it).
 */
export async function probe(
  fn: ItemFn,
  items: ArrayLike<unknown>,
  start: number,
  pull?: (n: number) => Promise<void>,
): Promise<Probe> {
  const values: unknown[] = []
  const errors: Array<[number, MapItemError]> = []
  if (items.length === 0) return { outcome: { start, count: 0, values, errors: undefined }, cost: undefined }
  // The first item alone tells whether the function is async: then its cost is not CPU on this
  // thread, there is nothing to measure, and the rest go to the workers. It ran here, once.
  let first: unknown
  try {
    first = fn(items[0], start)
  } catch (thrown) {
    errors.push([0, itemError(start, thrown)])
  }
  if (first instanceof Promise) {
    await first.then((v) => void (values[0] = v), (e: unknown) => void errors.push([0, itemError(start, e)]))
    return { outcome: { start, count: 1, values, errors: errors.length > 0 ? errors : undefined }, cost: undefined }
  }
  if (errors.length === 0) values[0] = first
  let elapsed = 0 // running items only: not the time a lazy source takes to give them
  let done = 1
  // Doubling batches for at least ~0.5 ms and, for cheap functions, until ~32k items have run
  // (at most 5 ms): the first few thousand calls run before the JIT has compiled anything, and
  // a cold estimate is tens of times too high. The cheapest batch per item is the estimate
  // (robust to a GC pause landing in one batch).
  let best = Infinity
  for (let batch = 2; ; batch *= 2) {
    // (A function that costs a microsecond or more is measured well enough warm or not.)
    if (elapsed > PROBE_MAX_MS || (elapsed > PROBE_MS && (done >= PROBE_WARM_ITEMS || best > 0.001))) break
    if (pull !== undefined && items.length < done + batch) await pull(done + batch - items.length)
    const end = Math.min(items.length, done + batch)
    if (end === done) break
    const batchStart = performance.now()
    runRange(fn, items, start, done, end, values, errors)
    const ran = performance.now() - batchStart
    elapsed += ran
    const perItem = ran / (end - done)
    if (end - done >= 64 || best === Infinity) best = Math.min(best, perItem)
    done = end
  }
  let waiting: Array<[number, PromiseLike<unknown>]> | undefined
  for (let i = 1; i < done; i++) if (isThenable(values[i])) (waiting ??= []).push([i, values[i] as PromiseLike<unknown>])
  const outcome = await settleBlock({ start, count: done, values, errors: errors.length > 0 ? errors : undefined, waiting }, undefined)
  if (best === Infinity) return { outcome, cost: undefined }
  return { outcome, cost: { msPerItem: best, transferMsPerItem: transferCost(items, values, done) } }
}

/** A tight synchronous loop, so that the JIT compiles it early and the probe measures `fn`. */
function runRange(
  fn: ItemFn,
  items: ArrayLike<unknown>,
  start: number,
  from: number,
  to: number,
  values: unknown[],
  errors: Array<[number, MapItemError]>,
): void {
  for (let i = from; i < to; i++) {
    try {
      values[i] = fn(items[i], start + i)
    } catch (thrown) {
      errors.push([i, itemError(start + i, thrown)])
    }
  }
}

/** This thread's share of sending `count` items and getting their results: half a clone each way. */
function transferCost(items: ArrayLike<unknown>, values: readonly unknown[], count: number): number {
  const sample = Math.min(count, 256)
  const began = performance.now()
  structuredClone(Array.prototype.slice.call(items, 0, sample))
  structuredClone(values.slice(0, sample))
  return (performance.now() - began) / 2 / sample
}

/**
 * Maps `count` items on this thread: `items[offset + i]` is the item at input index `start + i`.
 * Results go to `output[start + i]` when given (no intermediate array), else into the outcome.
 */
export function runBlock(
  fn: ItemFn,
  items: ArrayLike<unknown>,
  offset: number,
  start: number,
  count: number,
  output: unknown[] | undefined,
  stopOnError: boolean,
): LocalOutcome {
  const values: unknown[] | undefined = output === undefined ? new Array(count) : undefined
  let errors: Array<[number, MapItemError]> | undefined
  let waiting: Array<[number, PromiseLike<unknown>]> | undefined
  for (let i = 0; i < count; i++) {
    try {
      const value = fn(items[offset + i], start + i)
      if (isThenable(value)) (waiting ??= []).push([i, value])
      if (output !== undefined) output[start + i] = value
      else values![i] = value
    } catch (thrown) {
      ;(errors ??= []).push([i, itemError(start + i, thrown)])
      if (stopOnError) return { start, count: i + 1, values, errors, waiting }
    }
  }
  return { start, count, values, errors, waiting }
}

/**
 * A block whose function returned promises for some items (it returned plain values before, or
 * the probe would have seen it async): waits for them and puts their values in their places;
 * a rejection fails its item.
 */
export async function settleBlock(outcome: LocalOutcome, output: unknown[] | undefined): Promise<ChunkOutcome> {
  const { waiting, ...settled } = outcome
  if (waiting === undefined) return settled
  const errors = [...(settled.errors ?? [])]
  await Promise.all(
    waiting.map(async ([i, promise]) => {
      try {
        const value = await promise
        if (output !== undefined) output[settled.start + i] = value
        else settled.values![i] = value
      } catch (thrown) {
        errors.push([i, itemError(settled.start + i, thrown)])
      }
    }),
  )
  errors.sort((a, b) => a[0] - b[0])
  return { ...settled, errors: errors.length > 0 ? errors : undefined }
}

/** A block's outcome on this thread, with the items still to come. */
export type LocalOutcome = ChunkOutcome & { readonly waiting?: Array<[number, PromiseLike<unknown>]> | undefined }
