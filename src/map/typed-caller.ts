/**
 * A typed array with `callerRuns`: the calling thread measures the function warm on the first
 * elements and, when the whole map is too little work for the workers to pay off their fixed
 * costs (waking them, staging the input, faulting in the output's pages), maps the rest itself,
 * straight into the output. Otherwise the workers take the rest (`restOf`).
 */
import { typedRunsLocally } from './chunking.js'
import type { ItemFn } from './fn-spec.js'
import type { MapItemError } from '../errors.js'
import { probe } from './local.js'
import { itemError, type ChunkOutcome, type SharedArrays, type TypedArray } from './outcome.js'

/** Elements per block on this thread: abort and progress are seen between blocks. */
const BLOCK = 65_536

/** Yields what ran here; returns how many elements from the front are done. */
export async function* typedOnCaller(
  fn: ItemFn,
  shared: SharedArrays,
  workers: number,
  options: { readonly signal: AbortSignal | undefined; readonly stopOnError: boolean },
): AsyncGenerator<ChunkOutcome, number> {
  const { original, output } = shared
  const total = original.length
  const measured = await probe(fn, original, 0)
  const { count, values, errors } = measured.outcome
  for (let i = 0; i < count; i++) output[i] = values![i] as number
  yield { start: 0, count, values: undefined, errors }
  if (measured.cost === undefined || (errors !== undefined && options.stopOnError)) return count
  if (!typedRunsLocally(measured.cost.msPerItem, total - count, workers)) return count
  for (let at = count; at < total; at += BLOCK) {
    options.signal?.throwIfAborted()
    const end = Math.min(total, at + BLOCK)
    const failed: Array<[number, MapItemError]> = []
    for (let i = at; (i = runRange(fn, original, output, i, end)) < end; i++) {
      failed.push([i - at, itemError(i, thrown.value)])
      if (options.stopOnError) break
    }
    yield { start: at, count: end - at, values: undefined, errors: failed.length > 0 ? failed : undefined }
    if (failed.length > 0 && options.stopOnError) break
  }
  return total
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
