/**
 * The task behind parallelMap: applies the map's function to one chunk of items on a node.
 * One call per chunk, so per-call costs are paid once per chunk, and a chunk's results come
 * back together: an interruption re-runs the whole chunk (never a partial result), and an exit
 * blamed on an item leaves a rescue (map-rescue.ts) so that only that item fails.
 */
import { encodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import { findNotCloneable } from '../protocol/cloneable.js'
import { NotCloneableError } from '../errors.js'
import { resolveFn, type FnSpec, type ItemFn } from '../map/fn-spec.js'
import { alreadyChecked } from './runtime.js'
import { beginRescue, endRescue } from './map-rescue.js'

/**
 * Items as an array, or a range of a typed array in shared memory (results go to `output`);
 * `rescue` where the caller shares memory with the worker (see map-rescue.ts).
 */
export type ChunkItems =
  | { readonly kind: 'array'; readonly items: readonly unknown[]; readonly rescue?: SharedArrayBuffer }
  | { readonly kind: 'shared'; readonly input: TypedArray; readonly output: TypedArray; readonly end: number; readonly rescue?: SharedArrayBuffer }

type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array | Uint8ClampedArray

export interface ChunkResult {
  /** Results in item order (array chunks only). */
  values?: unknown[]
  /** Failed items as [offset in chunk, encoded thrown value]. */
  errors?: Array<[number, EncodedThrown]>
  /** With stopOnError: the offset of the first failure; items after it did not run. */
  stoppedAt?: number
  /** Milliseconds the chunk took on the worker (the engine sizes chunks by it). */
  ms?: number
  /** Set when an item returned a promise: the function's cost is not CPU, and it never runs on the caller. */
  async?: true
}

export async function mapChunk(
  spec: FnSpec,
  chunk: ChunkItems,
  start: number,
  context: Record<string, unknown> | undefined,
  stopOnError: boolean,
): Promise<ChunkResult> {
  const fn = await resolveFn(spec, context)
  const began = performance.now()
  const result = await (chunk.kind === 'array' ? mapArray(fn, chunk.items, start, stopOnError, chunk.rescue) : mapShared(fn, chunk, start, stopOnError))
  result.ms = performance.now() - began
  // Every value was checked as it was stored; if clone refuses one anyway, each fails on its own.
  return alreadyChecked(result, () => checkedThoroughly(result, start, stopOnError))
}

/**
 * The result again, every value checked thoroughly (an array's named properties too): those
 * clone refuses fail as their items' errors; undefined if none does. Only after a send failed.
 */
function checkedThoroughly(result: ChunkResult, start: number, stopOnError: boolean): ChunkResult | undefined {
  const values = result.values
  const refused = values === undefined ? [] : refusedResults(values.entries(), start)
  if (refused.length === 0) return undefined
  for (const [i] of refused) values![i] = undefined
  const errors = [...(result.errors ?? []), ...refused].sort((a, b) => a[0] - b[0])
  return { ...result, errors, stoppedAt: stopOnError ? errors[0]![0] : result.stoppedAt }
}

/** Of `results` ([offset, value]), those clone refuses by a thorough check, as item errors by offset. */
export function refusedResults(results: Iterable<[number, unknown]>, start: number): Array<[number, EncodedThrown]> {
  const refused: Array<[number, EncodedThrown]> = []
  for (const [i, value] of results) {
    try {
      checkedResult(value, start + i, true)
    } catch (thrown) {
      refused.push([i, encodeThrown(thrown)])
    }
  }
  return refused
}

async function mapArray(fn: ItemFn, items: readonly unknown[], start: number, stopOnError: boolean, rescue: SharedArrayBuffer | undefined): Promise<ChunkResult> {
  const values = new Array<unknown>(items.length)
  const result: ChunkResult = { values }
  const fail = (i: number, thrown: unknown): void => {
    ;(result.errors ??= []).push([i, encodeThrown(thrown)])
  }
  let pending: Array<Promise<void>> | undefined
  let running = rescue === undefined ? undefined : beginRescue(rescue, values)
  try {
    for (let i = 0; i < items.length; i++) {
      if (running !== undefined) running.at = i
      let value: unknown
      try {
        value = fn(items[i], start + i)
      } catch (thrown) {
        fail(i, thrown)
        if (stopOnError) return { ...result, stoppedAt: i }
        continue
      }
      if (value instanceof Promise) {
        // Async items of a chunk run concurrently; their order in `values` is kept by index. An
        // exit from now on cannot be pinned on one item: no rescue.
        result.async = true
        if (running !== undefined) (running = undefined), endRescue()
        ;(pending ??= []).push(value.then((v) => void (values[i] = checkedResult(v, start + i)), (e: unknown) => fail(i, e)))
        continue
      }
      try {
        values[i] = checkedResult(value, start + i)
      } catch (thrown) {
        fail(i, thrown)
        if (stopOnError) return { ...result, stoppedAt: i }
      }
    }
  } finally {
    if (running !== undefined) endRescue()
  }
  if (pending !== undefined) await Promise.all(pending)
  result.errors?.sort((a, b) => a[0] - b[0])
  if (stopOnError && result.errors !== undefined) result.stoppedAt = result.errors[0]![0]
  return result
}

async function mapShared(
  fn: ItemFn,
  chunk: Extract<ChunkItems, { kind: 'shared' }>,
  start: number,
  stopOnError: boolean,
): Promise<ChunkResult> {
  const { input, output, end } = chunk
  const result: ChunkResult = {}
  const running = chunk.rescue === undefined ? undefined : beginRescue(chunk.rescue, undefined)
  try {
    for (let i = start; i < end; i++) {
      if (running !== undefined) running.at = i - start
      try {
        output[i] = fn(input[i], i) as number
      } catch (thrown) {
        ;(result.errors ??= []).push([i - start, encodeThrown(thrown)])
        if (stopOnError) return { ...result, stoppedAt: i - start }
      }
    }
  } finally {
    if (running !== undefined) endRescue()
  }
  return result
}

/**
 * Faults in every 4 KiB page of a fresh buffer, so the first touch is paid here, on an idle
 * worker, instead of by the next typed map. It adds 0 to one word per page atomically: a write
 * (the page is faulted in for writing) that keeps whatever a map writing into the buffer at the
 * same time put there. Stops as soon as `stop` is set (a map is starting: this must not delay it).
 */
export function touchPages(buffer: SharedArrayBuffer, stop: SharedArrayBuffer): void {
  const words = new Int32Array(buffer, 0, buffer.byteLength >> 2)
  const flag = new Int32Array(stop)
  for (let i = 0; i < words.length; i += 1024) {
    if ((i & 0x7fff) === 0 && Atomics.load(flag, 0) !== 0) return // checked every 32 pages
    Atomics.add(words, i, 0)
  }
}

/** A result that cannot travel back fails its own item, not the whole chunk. */
export function checkedResult(value: unknown, index: number, thorough = false): unknown {
  const bad = findNotCloneable(value, 'result', thorough)
  if (bad === undefined) return value
  throw new NotCloneableError(
    `parallelMap item ${index} produced a value that cannot be sent back: ${bad.path} is ${bad.what}. ` +
      'Return plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date).',
    bad.path,
  )
}
