/**
 * The task behind parallelMap: applies the map's function to one chunk of items on a node.
 * One call per chunk, so per-call costs are paid once per chunk, and a chunk's results come
 * back together. An exit blamed on an item leaves a rescue (chunk-exits.ts) so that only that
 * item fails; off the caller's process, a long chunk sends its finished items' results ahead
 * (map-partial.ts), so that a lost agent's chunk runs again only from where they end (`from`).
 */
import { encodeThrown, type EncodedThrown } from '../../protocol/error-codec.js'
import { findNotCloneable } from '../../protocol/cloneable.js'
import { NotCloneableError } from '../../errors.js'
import { isThenable } from '../../thenable.js'
import { loadedFn, resolveFn, type FnSpec, type ItemFn } from '../fn-spec.js'
import { alreadyChecked, prepareBeforeBegin } from '../../worker/runtime.js'
import { loadedTask, loadTask } from '../../worker/task-loader.js'
import { beginRescue, endRescue } from '../../worker/chunk-exits.js'
import { PartialSender } from './map-partial.js'
import type { ChunkItems, ChunkResult } from './map-chunk-types.js'

export type { ChunkItems, ChunkResult } from './map-chunk-types.js'

/**
 * Synchronous unless the function must still load or an item returns a promise: a chunk holds
 * its worker until it ends, so the batch sent after it has not begun meanwhile (it can still be
 * taken back, and it never counts as started if its agent dies).
 */
export function mapChunk(
  spec: FnSpec,
  chunk: ChunkItems,
  start: number,
  context: Record<string, unknown> | undefined,
  stopOnError: boolean,
): ChunkResult | Promise<ChunkResult> {
  const fn = loadedFn(spec, context)
  if (fn === undefined) return resolveFn(spec, context).then((loaded) => mapWith(loaded, chunk, start, stopOnError))
  return mapWith(fn, chunk, start, stopOnError)
}

function mapWith(fn: ItemFn, chunk: ChunkItems, start: number, stopOnError: boolean): ChunkResult | Promise<ChunkResult> {
  const began = performance.now()
  const finish = (result: ChunkResult): ChunkResult => {
    // A chunk run again from `from` ran only its rest: its time does not measure the chunk.
    if (chunk.kind !== 'array' || (chunk.from ?? 0) === 0) result.ms = performance.now() - began
    // Every value was checked as it was stored; if clone refuses one anyway, each fails on its own.
    return alreadyChecked(result, () => checkedThoroughly(result, start, stopOnError))
  }
  const result = chunk.kind === 'array' ? mapArray(fn, chunk, start, stopOnError) : mapShared(fn, chunk, start, stopOnError)
  return result instanceof Promise ? result.then(finish) : finish(result)
}

// The map's function is loaded before a chunk begins (as the chunk's task module is): a worker
// idle while it loads would begin the chunk sent after it as well.
prepareBeforeBegin(mapChunk, (spec) => {
  const fn = spec as FnSpec
  if (fn.kind !== 'task' || loadedTask(fn.module, fn.name) !== undefined) return undefined
  return loadTask(fn.module, fn.name).catch(() => {}) // a failure is the chunk's to report, as it resolves the function
})

/**
 * The result again, every value checked thoroughly (an array's named properties too): those
 * clone refuses fail as their items' errors; undefined if none does. Only after a send failed.
 */
function checkedThoroughly(result: ChunkResult, start: number, stopOnError: boolean): ChunkResult | undefined {
  const values = result.values
  const from = result.from ?? 0
  const refused = values === undefined ? [] : refusedResults(values.map((value, i): [number, unknown] => [from + i, value]), start)
  if (refused.length === 0) return undefined
  for (const [i] of refused) values![i - from] = undefined
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

function mapArray(fn: ItemFn, chunk: Extract<ChunkItems, { kind: 'array' }>, start: number, stopOnError: boolean): ChunkResult | Promise<ChunkResult> {
  const { items, rescue } = chunk
  const values = new Array<unknown>(items.length)
  const result: ChunkResult = { values }
  const fail = (i: number, thrown: unknown): void => {
    ;(result.errors ??= []).push([i, encodeThrown(thrown)])
  }
  const from = chunk.from ?? 0
  const ahead = chunk.from === undefined ? undefined : new PartialSender(values, () => result.errors, from)
  const answer = (r: ChunkResult): ChunkResult => (ahead === undefined ? r : ahead.rest(r))
  let pending: Array<Promise<void>> | undefined
  let running = rescue instanceof SharedArrayBuffer ? beginRescue(rescue, values, () => result.errors) : undefined
  try {
    for (let i = from; i < items.length; i++) {
      if (running !== undefined) running.at = i
      if (ahead !== undefined && i >= ahead.due) ahead.check(i)
      let value: unknown
      try {
        value = fn(items[i], start + i)
      } catch (thrown) {
        fail(i, thrown)
        if (stopOnError) return answer({ ...result, stoppedAt: i })
        continue
      }
      if (value instanceof Promise) {
        // Async items of a chunk run concurrently; their order in `values` is kept by index. An
        // exit from now on cannot be pinned on one item (no rescue), and results no longer
        // finish in order (nothing more is sent ahead).
        result.async = true
        ahead?.stop()
        if (running !== undefined) (running = undefined), endRescue()
        ;(pending ??= []).push(value.then((v) => void (values[i] = checkedResult(v, start + i)), (e: unknown) => fail(i, e)))
        continue
      }
      try {
        values[i] = checkedResult(value, start + i)
      } catch (thrown) {
        fail(i, thrown)
        if (stopOnError) return answer({ ...result, stoppedAt: i })
      }
    }
  } finally {
    if (running !== undefined) endRescue()
  }
  const settle = (): ChunkResult => {
    result.errors?.sort((a, b) => a[0] - b[0])
    if (stopOnError && result.errors !== undefined) result.stoppedAt = result.errors[0]![0]
    return answer(result)
  }
  return pending === undefined ? settle() : Promise.all(pending).then(settle)
}

/** Into the shared output; an async function's promises are waited for, all at once, as for an array. */
function mapShared(fn: ItemFn, chunk: Extract<ChunkItems, { kind: 'shared' }>, start: number, stopOnError: boolean): ChunkResult | Promise<ChunkResult> {
  const { input, output, end } = chunk
  const result: ChunkResult = {}
  const failed = (i: number, thrown: unknown) => void (result.errors ??= []).push([i - start, encodeThrown(thrown)])
  let pending: Array<Promise<void>> | undefined
  const running = chunk.rescue instanceof SharedArrayBuffer ? beginRescue(chunk.rescue, undefined, () => result.errors) : undefined
  try {
    for (let i = start; i < end; i++) {
      if (running !== undefined) running.at = i - start
      try {
        const value = fn(input[i], i)
        if (isThenable(value)) (pending ??= []).push(Promise.resolve(value).then((v) => void (output[i] = v as number), (thrown: unknown) => failed(i, thrown)))
        else output[i] = value as number
      } catch (thrown) {
        failed(i, thrown)
        if (stopOnError) return { ...result, stoppedAt: i - start }
      }
    }
  } finally {
    if (running !== undefined) endRescue()
  }
  if (pending === undefined) return result
  result.async = true
  return Promise.all(pending).then(() => {
    result.errors?.sort((a, b) => a[0] - b[0])
    if (stopOnError && result.errors !== undefined) result.stoppedAt = result.errors[0]![0]
    return result
  })
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
