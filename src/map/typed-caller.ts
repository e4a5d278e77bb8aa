/**
 * A typed array with `callerRuns`: the calling thread measures the function warm on the first
 * elements and, when the whole map is too little work for the workers to pay off their fixed
 * costs (waking them, staging the input, faulting in the output's pages), maps the rest itself,
 * straight into the output. Otherwise the workers take the rest (`restOf`).
 *
 * The measuring runs the same loop as the rest, into the output, in doubling batches: the
 * elements it maps are part of the work, at the loop's speed (an item-by-item probe into an
 * array, as for arrays, cost half as much again as the loop on a 1M-element map).
 */
import { typedRunsLocally } from './chunking.js'
import type { ItemFn } from './fn-spec.js'
import type { MapItemError } from '../errors.js'
import { measuredEnough } from './local.js'
import { itemError, type ChunkOutcome, type SharedArrays, type TypedArray } from './outcome.js'
import { isThenable } from '../thenable.js'

/** Elements per block on this thread: abort and progress are seen between blocks. */
const BLOCK = 65_536

interface Options {
  readonly signal: AbortSignal | undefined
  readonly stopOnError: boolean
}

/** Yields what ran here; returns how many elements from the front are done. */
export async function* typedOnCaller(fn: ItemFn, shared: SharedArrays, workers: number, options: Options): AsyncGenerator<ChunkOutcome, number> {
  const total = shared.original.length
  const measured = await measure(fn, shared, options.stopOnError)
  const { count, errors } = measured
  yield { start: 0, count, values: undefined, errors: errors.length > 0 ? errors : undefined }
  if (measured.msPerItem === undefined || (errors.length > 0 && options.stopOnError)) return count
  if (!typedRunsLocally(measured.msPerItem, total - count, workers)) return count
  for (let at = count; at < total; at += BLOCK) {
    options.signal?.throwIfAborted()
    const end = Math.min(total, at + BLOCK)
    const failed = mapRange(fn, shared, at, end, options.stopOnError)
    const ran = failed.length > 0 && options.stopOnError ? failed[0]![0] + 1 : end - at
    yield { start: at, count: ran, values: undefined, errors: failed.length > 0 ? failed.map(([i, e]): [number, MapItemError] => [i - at, e]) : undefined }
    if (failed.length > 0 && options.stopOnError) break
  }
  return total
}

/**
 * Maps the first elements in doubling batches until measuredEnough: how many, the cheapest
 * batch's time per element, and the failures by index. The first element alone tells whether
 * the function is async: then nothing is measured (its cost is not CPU here), and it ran once.
 */
async function measure(fn: ItemFn, shared: SharedArrays, stopOnError: boolean): Promise<{ count: number; msPerItem: number | undefined; errors: Array<[number, MapItemError]> }> {
  const { original: input, output } = shared
  const total = input.length
  const errors: Array<[number, MapItemError]> = []
  try {
    const first = fn(input[0], 0)
    if (isThenable(first)) {
      await Promise.resolve(first).then((v) => void (output[0] = v as number), (e: unknown) => void errors.push([0, itemError(0, e)]))
      return { count: 1, msPerItem: undefined, errors }
    }
    output[0] = first as number
  } catch (thrown) {
    errors.push([0, itemError(0, thrown)])
    if (stopOnError) return { count: 1, msPerItem: undefined, errors }
  }
  let done = 1
  let elapsed = 0
  let best = Infinity
  for (let batch = 2; done < total && !measuredEnough(elapsed, done, best); batch *= 2) {
    const end = Math.min(total, done + batch)
    const began = performance.now()
    const failed = mapRange(fn, shared, done, end, stopOnError)
    const ran = performance.now() - began
    for (const failure of failed) errors.push(failure)
    if (failed.length > 0 && stopOnError) return { count: failed[0]![0] + 1, msPerItem: undefined, errors }
    elapsed += ran
    // Batches of 64 or more only (the first few are too short to time), the cheapest: robust to a GC pause in one.
    if (end - done >= 64 || best === Infinity) best = Math.min(best, ran / (end - done))
    done = end
  }
  return { count: done, msPerItem: best === Infinity ? undefined : best, errors }
}

/** Maps elements [start, end) into the output; the failures, by element index (with stopOnError, the first only). */
function mapRange(fn: ItemFn, shared: SharedArrays, start: number, end: number, stopOnError: boolean): Array<[number, MapItemError]> {
  const failed: Array<[number, MapItemError]> = []
  for (let i = start; (i = runRange(fn, shared.original, shared.output, i, end)) < end; i++) {
    failed.push([i, itemError(i, thrown.value)])
    if (stopOnError) break
  }
  return failed
}

/** What the element at the index runRange returned threw. */
const thrown: { value: unknown } = { value: undefined }

/**
 * Maps elements [start, end) into the output: `end`, or the index of the first that threw. A
 * small function of its own, with one array kind per call site, so the JIT makes it a tight loop.
 */
function runRange(fn: ItemFn, input: TypedArray, output: TypedArray, start: number, end: number): number {
  let i = start
  try {
    for (; i < end; i++) output[i] = fn(input[i], i) as number
  } catch (error) {
    thrown.value = error
  }
  return i
}

/** The elements of `shared` from `from` on, as arrays of their own over the same memory. */
export function restOf(shared: SharedArrays, from: number): SharedArrays {
  if (from === 0) return shared
  const input = shared.input.subarray(from) as TypedArray
  return {
    original: shared.original === shared.input ? input : (shared.original.subarray(from) as TypedArray),
    input,
    output: shared.output.subarray(from) as TypedArray,
    stage: (start, end) => shared.stage(from + start, from + end),
  }
}
