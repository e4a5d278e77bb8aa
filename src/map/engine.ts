/**
 * The map engine: turns a source of items into chunk outcomes, in completion order, running
 * chunks on the pool with a bounded number in flight (the read-ahead), or on this thread when
 * 'auto' finds the items too cheap to send. Consumers (parallelMap, iterate) put them in order.
 */
import { setMaxListeners } from 'node:events'
import { findNotCloneable } from '../protocol/cloneable.js'
import { NotCloneableError, type MapItemError } from '../errors.js'
import type { CallSink } from '../scheduler/call.js'
import type { TaskRef } from '../task/pending.js'
import type { ChunkItems, ChunkResult } from '../worker/map-chunk.js'
import { decodeThrown } from '../protocol/error-codec.js'
import { chunkSizeFor, defaultChunkSize, fewestChunks, nextChunkSize, runsLocally } from './chunking.js'
import { Completions } from './completions.js'
import { resolveFn, type FnSpec, type ItemFn } from './fn-spec.js'
import { probe, runBlock, settleBlock } from './local.js'
import { chunkFailed, itemError, type ChunkOutcome, type SharedArrays } from './outcome.js'
import type { ItemSource } from './source.js'
import { blockSizeFor, mapTypedBlocks } from './typed-blocks.js'
import { shareNumbers } from './shared-memory.js'

export interface EngineOptions {
  readonly chunkSize: number | 'auto'
  readonly signal: AbortSignal | undefined
  /** Per item, in ms: a chunk of n items gets n × timeout from its start. */
  readonly timeout: number | undefined
  readonly stopOnError: boolean
  readonly context: Record<string, unknown> | undefined
  readonly onProgress: ((done: number, total?: number) => void) | undefined
  /** Chunks in flight (plus `held`) at most, per node. @default 2 */
  readonly readAheadPerNode?: number
  /** Where local results go directly, by input index (parallelMap's result array); else into outcomes. */
  readonly output?: unknown[]
  /** Outcomes the consumer holds but has not passed on yet (ordered iteration): they count against the read-ahead. */
  readonly held?: () => number
}

const CHUNK_TASK: TaskRef = { module: new URL('../worker/map-chunk.js', import.meta.url).href, name: 'mapChunk' }
/** Where a chunk's items sit among a mapChunk call's arguments (the chunk is its second), as a path names them. */
const CHUNK_ITEMS_PATH = 'args[1].items'
const PROBE_TAKE = 65_536
/** Items per block on this thread: at most this many, and about LOCAL_BLOCK_MS of work (abort and progress are seen between blocks). */
const LOCAL_BLOCK = 16_384
const LOCAL_BLOCK_MS = 5
/**
 * Blocks of an array of numbers are a quarter of a chunk (~0.5 ms of work): claiming one costs
 * an atomic add, not a round trip, and the workers then finish within ~0.5 ms of each other.
 */
const BLOCK_PER_CHUNK = 4

/** Each map run learns its own chunk cost: chunks of different maps share a task, not a cost. */
let nextCostKey = -1

export async function* mapChunks(
  compute: CallSink,
  spec: FnSpec,
  source: ItemSource,
  shared: SharedArrays | undefined,
  options: EngineOptions,
): AsyncGenerator<ChunkOutcome> {
  const stopper = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal
  setMaxListeners(0, signal) // one listener per chunk in flight
  const workers = compute.nodes
  const costKey = nextCostKey--
  let done = 0
  const report = (outcome: ChunkOutcome): ChunkOutcome => {
    done += outcome.count
    if (outcome.count > 0) options.onProgress?.(done, source.total)
    return outcome
  }
  const blocks = (chunkSize: number | 'auto') => ({ chunkSize, signal, stopOnError: options.stopOnError, context: options.context, costKey, progress: options.onProgress !== undefined })
  try {
    options.signal?.throwIfAborted()
    if (shared !== undefined && compute.sharedMemory && options.timeout === undefined) {
      // Typed arrays in shared memory: one call per worker, claiming blocks (no per-item deadline
      // there). Only 'auto' runs items on the calling thread: a chunk size given keeps them on workers.
      const local = options.chunkSize === 'auto' ? await localFn(spec, options.context) : undefined
      for await (const outcome of mapTypedBlocks(compute, spec, shared, local, blocks(options.chunkSize))) yield report(outcome)
      return
    }
    let start = 0
    let size = typeof options.chunkSize === 'number' ? options.chunkSize : defaultChunkSize(source.total, workers, shared !== undefined)
    let floor: number | undefined // the smallest useful chunk (~2 ms of work), once the cost is known
    // A typed array here (it has a per-item deadline: chunks, not blocks) costs nothing to
    // send, so workers always pay: no probe on this thread, and chunk sizes come from the workers.
    const local = options.chunkSize === 'auto' && shared === undefined ? await localFn(spec, options.context) : undefined
    if (local !== undefined) {
      // An array is there already; a lazy source gives items only as the probe runs them.
      const lazy = source.array === undefined
      const sample = lazy ? Array.from(await source.take(1)) : await source.take(PROBE_TAKE)
      const pull = async (n: number) => {
        for (const item of Array.from(await source.take(n))) (sample as unknown[]).push(item)
      }
      const measured = await probe(local, sample, start, lazy ? pull : undefined)
      yield report(measured.outcome)
      start += measured.outcome.count
      source.putBack(Array.prototype.slice.call(sample, measured.outcome.count))
      if (measured.cost !== undefined) {
        if (runsLocally(measured.cost, workers)) {
          const block = Math.max(1, Math.min(LOCAL_BLOCK, Math.ceil(LOCAL_BLOCK_MS / measured.cost.msPerItem)))
          yield* runLocally(local, source, start, options, report, block)
          return
        }
        floor = chunkSizeFor(measured.cost.msPerItem, shared !== undefined)
        size = Math.max(floor, fewestChunks(source.total, workers))
      }
    }
    // Measured worth sending, an array of numbers goes the way of a typed array: blocks claimed by
    // one call per worker, nothing cloned per chunk, and the calling thread woken once per worker.
    const numbers = floor === undefined ? undefined : numbersInSharedMemory(compute, source, start, options)
    if (numbers !== undefined && floor !== undefined) {
      const blockSize = Math.min(Math.ceil(floor / BLOCK_PER_CHUNK), blockSizeFor(numbers.input.length, workers, 'auto'))
      for await (const outcome of mapTypedBlocks(compute, spec, numbers, local, { ...blocks(blockSize), offset: start, into: options.output })) yield report(outcome)
      numbers.release() // only once every call has ended: a call still running may write to the output
      return
    }

    const running = new Completions<ChunkOutcome>()
    const limit = workers * (options.readAheadPerNode ?? 2)
    let remaining = source.total === undefined ? undefined : source.total - start
    for (let exhausted = false; ; ) {
      while (!exhausted && (running.size === 0 || running.size + (options.held?.() ?? 0) < limit)) {
        const n = options.chunkSize === 'auto' ? nextChunkSize(size, remaining, workers, floor) : size
        const items = await source.take(n)
        if (items.length === 0) {
          exhausted = true
          break
        }
        for (const part of sendable(items, start, shared)) running.add(part.outcome ?? runChunk(compute, spec, part, shared, { signal, costKey }, options))
        start += items.length
        if (remaining !== undefined) remaining -= items.length
      }
      if (running.size === 0) return // only once exhausted: an empty pool always takes a chunk
      const outcome = await running.next()
      options.signal?.throwIfAborted()
      // Workers measure better than the probe did (warm JIT, their own memory): re-size by them.
      if (options.chunkSize === 'auto' && outcome.ms !== undefined && outcome.count > 0 && outcome.errors === undefined) {
        floor = chunkSizeFor(outcome.ms / outcome.count, shared !== undefined)
        size = Math.max(floor, fewestChunks(source.total, workers))
      }
      yield report(outcome)
    }
  } finally {
    stopper.abort(new Error('parallelMap finished'))
    await source.close()
  }
}

/** The whole map on this thread, in blocks (so progress and abort are seen between them). */
function* runLocallyFromArray(
  fn: ItemFn,
  array: readonly unknown[],
  start: number,
  options: EngineOptions,
  block: number,
): Generator<ChunkOutcome> {
  for (let at = start; at < array.length; at += block) {
    options.signal?.throwIfAborted()
    yield runBlock(fn, array, at, at, Math.min(block, array.length - at), options.output, options.stopOnError)
  }
}

async function* runLocally(
  fn: ItemFn,
  source: ItemSource,
  start: number,
  options: EngineOptions,
  report: (outcome: ChunkOutcome) => ChunkOutcome,
  block: number,
): AsyncGenerator<ChunkOutcome> {
  // An array is read in place: no block copies.
  const array = source.array
  if (array !== undefined) {
    for (const outcome of runLocallyFromArray(fn, array, start, options, block)) yield report(await settleBlock(outcome, options.output))
    return
  }
  for (let items = await source.take(block); items.length > 0; items = await source.take(block)) {
    options.signal?.throwIfAborted()
    const outcome = await settleBlock(runBlock(fn, items, 0, start, items.length, options.output, options.stopOnError), options.output)
    yield report(outcome)
    start += outcome.count
  }
}

interface Part {
  readonly start: number
  readonly items: ArrayLike<unknown>
  /** Set for an item that cannot be sent: its failure, already decided. */
  readonly outcome?: Promise<ChunkOutcome>
  /** A part of a chunk that clone refused: split once, never again. */
  readonly split?: boolean
}

/**
 * Splits a chunk around items that cannot be sent to a worker; those fail alone, by index.
 * `thorough`: after clone refused a chunk the quick check passed (see findNotCloneable).
 */
function sendable(items: ArrayLike<unknown>, start: number, shared: SharedArrays | undefined, thorough = false): Part[] {
  if (shared !== undefined || findNotCloneable(items, 'items', thorough) === undefined) return [{ start, items }]
  const parts: Part[] = []
  let run: unknown[] = []
  let runStart = start
  Array.prototype.forEach.call(items, (item: unknown, i: number) => {
    const bad = findNotCloneable(item, `item ${start + i}`, thorough)
    if (bad === undefined) {
      if (run.length === 0) runStart = start + i
      run.push(item)
      return
    }
    if (run.length > 0) parts.push({ start: runStart, items: run })
    run = []
    const error = new NotCloneableError(
      `parallelMap item ${start + i} cannot be sent to a worker: ${bad.path} is ${bad.what}. Pass plain data, ` +
        'or build the object inside the function.',
      bad.path,
    )
    const outcome: ChunkOutcome = { start: start + i, count: 1, values: undefined, errors: [[0, itemError(start + i, error)]] }
    parts.push({ start: start + i, items: [item], outcome: Promise.resolve(outcome) })
  })
  if (run.length > 0) parts.push({ start: runStart, items: run })
  return parts
}

async function runChunk(
  compute: CallSink,
  spec: FnSpec,
  part: Part,
  shared: SharedArrays | undefined,
  call: { signal: AbortSignal; costKey: number },
  options: EngineOptions,
): Promise<ChunkOutcome> {
  const { signal } = call
  const { start, items } = part
  shared?.stage(start, start + items.length) // copied just before it is needed: overlaps with running chunks
  const chunk: ChunkItems =
    shared === undefined
      ? { kind: 'array', items: items as unknown[] }
      : { kind: 'shared', input: shared.input, output: shared.output, end: start + items.length }
  const timeout = options.timeout === undefined ? undefined : options.timeout * items.length
  try {
    const result = (await compute.submit(CHUNK_TASK, [spec, chunk, start, options.context, options.stopOnError], {
      ...call,
      timeout,
    })) as ChunkResult
    const errors = result.errors?.map(([i, e]): [number, ReturnType<typeof itemError>] => [i, itemError(start + i, decodeThrown(e))])
    const count = result.stoppedAt === undefined ? items.length : result.stoppedAt + 1
    return { start, count, values: result.values, errors, ms: result.ms }
  } catch (thrown) {
    if (signal.aborted) throw signal.reason
    // Clone refused an item the quick check passed (the dispatcher found it, `args[1].items[k]…`):
    // the chunk runs again split around it, so only that item fails, by its index.
    if (thrown instanceof NotCloneableError && thrown.path.startsWith(CHUNK_ITEMS_PATH) && part.split !== true) {
      const parts = sendable(items, start, shared, true).map((p) => p.outcome ?? runChunk(compute, spec, { ...p, split: true }, shared, call, options))
      return joined(start, items.length, await Promise.all(parts))
    }
    return chunkFailed(start, items.length, thrown)
  }
}

/** The outcomes of a chunk's parts as the chunk's own (results by offset, errors by offset). */
function joined(start: number, count: number, parts: readonly ChunkOutcome[]): ChunkOutcome {
  const values: unknown[] = new Array(count)
  const errors: Array<[number, MapItemError]> = []
  for (const part of parts) {
    const offset = part.start - start
    part.values?.forEach((value, i) => (values[offset + i] = value))
    for (const [i, error] of part.errors ?? []) errors.push([offset + i, error])
  }
  return { start, count, values, errors: errors.length > 0 ? errors.sort((a, b) => a[0] - b[0]) : undefined }
}

/**
 * The rest of an array of numbers in shared memory, where the pool shares this process's memory
 * and nothing asks for per-chunk deadlines; undefined otherwise (or if an item is not a number).
 */
function numbersInSharedMemory(compute: CallSink, source: ItemSource, start: number, options: EngineOptions): ReturnType<typeof shareNumbers> {
  const array = source.array
  if (array === undefined || options.output === undefined || !compute.sharedMemory || options.timeout !== undefined) return undefined
  if (start >= array.length) return undefined
  return shareNumbers(array, start)
}

/** The function on this thread, for measuring and for cheap items; undefined if it cannot load here. */
async function localFn(spec: FnSpec, context: Record<string, unknown> | undefined): Promise<ItemFn | undefined> {
  try {
    return await resolveFn(spec, context)
  } catch {
    return undefined
  }
}
