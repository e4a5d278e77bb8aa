/**
 * The map engine: turns a source of items into chunk outcomes, in completion order, running
 * chunks on the pool with a bounded number in flight (the read-ahead). Consumers (parallelMap,
 * iterate) put them in order. Items run on the pool's workers; the calling thread runs some only
 * with `callerRuns` (see callerMayRun).
 */
import { setMaxListeners } from 'node:events'
import { types } from 'node:util'
import type { CallSink } from '../task/call-sink.js'
import { chunkSizeFor, fewestChunks, nextChunkSize, runsLocally } from './chunking.js'
import { runChunk, sendable, type ChunkCall } from './chunk-call.js'
import { Completions } from './completions.js'
import { resolveFn, type FnSpec, type ItemFn } from './fn-spec.js'
import { probe, runBlock, settleBlock } from './local.js'
import type { ChunkOutcome, SharedArrays } from './outcome.js'
import type { ItemSource } from './source.js'
import { blockSizeFor, mapTypedBlocks } from './typed-blocks.js'
import { shareNumbers } from './shared-memory.js'
import { restOf, typedOnCaller } from './typed-caller.js'

export interface EngineOptions {
  readonly chunkSize: number | 'auto'
  readonly signal: AbortSignal | undefined
  /** Per item, in ms: a chunk of n items gets n × timeout from its start. */
  readonly timeout: number | undefined
  readonly stopOnError: boolean
  readonly context: Record<string, unknown> | undefined
  readonly onProgress: ((done: number, total?: number) => void) | undefined
  /** The user allows items on the calling thread where they are too cheap to send (see callerMayRun). @default false */
  readonly callerRuns?: boolean
  /** Items running at once across the pool, at most (p-map's `concurrency`). @default Infinity */
  readonly concurrency?: number
  /** Chunks in flight (plus `held`) at most, per node. @default 2 */
  readonly readAheadPerNode?: number
  /** Where local and block results go directly, by input index (parallelMap's result array); else into outcomes. */
  readonly output?: unknown[]
  /** Outcomes the consumer holds but has not passed on yet (ordered iteration): they count against the read-ahead. */
  readonly held?: () => number
}

const PROBE_TAKE = 65_536
/** Items per block on this thread: at most this many, and about LOCAL_BLOCK_MS of work (abort and progress are seen between blocks). */
const LOCAL_BLOCK = 16_384
const LOCAL_BLOCK_MS = 5
/**
 * Blocks of an array of numbers are a quarter of a chunk (~0.5 ms of work): claiming one costs
 * an atomic add, not a round trip, and the workers then finish within ~0.5 ms of each other.
 */
const BLOCK_PER_CHUNK = 4
/** At most this many blocks per thread: a first cost measured cold (too high) must not make thousands of tiny blocks. */
const MAX_BLOCKS_PER_THREAD = 256

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
  const call: ChunkCall = { signal, costKey, timeout: options.timeout, context: options.context, stopOnError: options.stopOnError }
  let done = 0
  const report = (outcome: ChunkOutcome): ChunkOutcome => {
    done += outcome.count
    if (outcome.count > 0) options.onProgress?.(done, source.total)
    return outcome
  }
  const blocks = (chunkSize: number | 'auto') => ({ chunkSize, signal, stopOnError: options.stopOnError, context: options.context, costKey, progress: options.onProgress !== undefined })
  try {
    options.signal?.throwIfAborted()
    const local = callerMayRun(compute, options) ? await localFn(spec, options.context) : undefined
    const concurrency = options.concurrency ?? Infinity
    if (shared !== undefined && compute.sharedMemory && options.timeout === undefined && concurrency === Infinity) {
      // Typed arrays in shared memory: one call per worker, claiming blocks (no per-item deadline
      // nor bound on items at once there). The calling thread takes blocks too only when the user allows it.
      const here = options.chunkSize === 'auto' && local !== undefined && !types.isAsyncFunction(local) ? local : undefined
      let from = 0
      if (here !== undefined) {
        const onCaller = typedOnCaller(here, shared, workers, options)
        for (let step = await onCaller.next(); ; step = await onCaller.next()) {
          if (step.done === true) {
            from = step.value
            break
          }
          yield report(step.value)
        }
        if (from >= shared.input.length) return
      }
      for await (const outcome of mapTypedBlocks(compute, spec, restOf(shared, from), here, { ...blocks(options.chunkSize), offset: from })) yield report(outcome)
      return
    }
    const auto = options.chunkSize === 'auto'
    // 'auto' starts with one item per worker: its cost is measured there, by the worker, before
    // any chunk is sized (an item of a second must not go in a chunk of ten).
    let measuring = auto
    let size = typeof options.chunkSize === 'number' ? options.chunkSize : 1
    let floor: number | undefined // the smallest useful chunk (~2 ms of work), once the cost is known
    let start = 0
    const running = new Completions<ChunkOutcome>()
    const drain = async function* (): AsyncGenerator<ChunkOutcome> {
      while (running.size > 0) yield report(await running.next())
    }
    let remaining = source.total === undefined ? undefined : source.total
    const taken = (n: number) => {
      start += n
      if (remaining !== undefined) remaining -= n
    }
    // Items in running chunks, against `concurrency`: a chunk's items may all run at once (async).
    let inFlight = 0
    const ended = (count: number) => (outcome: ChunkOutcome) => ((inFlight -= count), outcome)
    for (let exhausted = false; ; ) {
      const limit = measuring ? workers : workers * (options.readAheadPerNode ?? 2)
      while (!exhausted && inFlight < concurrency && (running.size === 0 || running.size + (options.held?.() ?? 0) < limit)) {
        const n = Math.min(auto && !measuring ? nextChunkSize(size, remaining, workers, floor) : size, concurrency - inFlight)
        const items = await source.take(n)
        if (items.length === 0) {
          exhausted = true
          break
        }
        for (const part of sendable(items, start, shared)) {
          inFlight += part.items.length
          running.add((part.outcome ?? runChunk(compute, spec, part, shared, call)).then(ended(part.items.length)))
        }
        taken(items.length)
      }
      if (running.size === 0) return // only once exhausted: an empty pool always takes a chunk
      const outcome = await running.next()
      options.signal?.throwIfAborted()
      yield report(outcome)
      if (!auto || outcome.ms === undefined || outcome.count === 0) continue
      // Sized by the workers' own timings (a failure measures too while nothing else has: a map
      // whose items all fail must not crawl one item at a time).
      if (measuring || outcome.errors === undefined) {
        floor = chunkSizeFor(outcome.ms / outcome.count, shared !== undefined)
        size = Math.max(floor, fewestChunks(source.total, workers))
      }
      if (!measuring) continue
      measuring = false
      // Where the user allows it, the calling thread measures the function warm on the next items
      // and keeps them if workers cannot pay for themselves (items cheaper than sending them).
      const here = local !== undefined && outcome.async !== true ? local : undefined
      if (here !== undefined) {
        yield* drain()
        const probed = await probeHere(here, source, start)
        taken(probed.outcome.count)
        yield report(probed.outcome)
        if (probed.cost !== undefined) {
          if (runsLocally(probed.cost, workers)) {
            const block = Math.max(1, Math.min(LOCAL_BLOCK, Math.ceil(LOCAL_BLOCK_MS / probed.cost.msPerItem)))
            yield* runLocally(here, source, start, options, report, block)
            return
          }
          floor = chunkSizeFor(probed.cost.msPerItem, shared !== undefined)
          size = Math.max(floor, fewestChunks(source.total, workers))
        }
      }
      // An array of numbers goes the way of a typed array: blocks claimed by one call per
      // worker, nothing cloned per chunk, and the calling thread woken once per worker. Not for
      // items of 2 ms or more (a chunk of one): their clone costs nothing beside them, and the
      // chunks in flight need not be waited for.
      const perChunk = floor !== undefined && floor > 1 ? floor : undefined
      const numbers = perChunk !== undefined ? numbersInSharedMemory(compute, source, start, options) : undefined
      if (numbers !== undefined && perChunk !== undefined) {
        yield* drain()
        const threads = workers + (here !== undefined ? 1 : 0)
        const fromCost = Math.ceil(perChunk / BLOCK_PER_CHUNK)
        const blockSize = Math.max(Math.min(fromCost, blockSizeFor(numbers.input.length, threads, 'auto')), Math.ceil(numbers.input.length / (threads * MAX_BLOCKS_PER_THREAD)))
        for await (const outcome of mapTypedBlocks(compute, spec, numbers, here, { ...blocks(blockSize), offset: start, into: options.output })) yield report(outcome)
        numbers.release() // only once every call has ended: a call still running may write to the output
        return
      }
    }
  } finally {
    stopper.abort(new Error('parallelMap finished'))
    await source.close()
  }
}

/**
 * Whether items may run on the calling thread: only when the user asked (`callerRuns`), and
 * never with a deadline (nothing could stop an item there) nor for a pool in other processes or
 * on other hosts (where items are meant to run, with their memory and isolation).
 */
function callerMayRun(compute: CallSink, options: EngineOptions): boolean {
  return options.callerRuns === true && options.timeout === undefined && compute.sharedMemory && options.chunkSize === 'auto'
}

/** The caller's probe on the next items (a lazy source gives items only as the probe runs them). */
async function probeHere(fn: ItemFn, source: ItemSource, start: number): ReturnType<typeof probe> {
  const lazy = source.array === undefined
  const sample = lazy ? Array.from(await source.take(1)) : await source.take(PROBE_TAKE)
  const pull = async (n: number) => {
    for (const item of Array.from(await source.take(n))) (sample as unknown[]).push(item)
  }
  const measured = await probe(fn, sample, start, lazy ? pull : undefined)
  source.putBack(Array.prototype.slice.call(sample, measured.outcome.count))
  return measured
}

/** The rest of the map on this thread, in blocks (so progress and abort are seen between them). */
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
    for (let at = start; at < array.length; at += block) {
      options.signal?.throwIfAborted()
      const outcome = runBlock(fn, array, at, at, Math.min(block, array.length - at), options.output, options.stopOnError)
      yield report(await settleBlock(outcome, options.output))
    }
    return
  }
  for (let items = await source.take(block); items.length > 0; items = await source.take(block)) {
    options.signal?.throwIfAborted()
    const outcome = await settleBlock(runBlock(fn, items, 0, start, items.length, options.output, options.stopOnError), options.output)
    yield report(outcome)
    start += outcome.count
  }
}

/**
 * The rest of an array of numbers in shared memory, where the pool shares this process's memory
 * and nothing asks for per-chunk deadlines; undefined otherwise (or if an item is not a number).
 */
function numbersInSharedMemory(compute: CallSink, source: ItemSource, start: number, options: EngineOptions): ReturnType<typeof shareNumbers> {
  const array = source.array
  if (array === undefined || options.output === undefined || !compute.sharedMemory || options.timeout !== undefined || (options.concurrency ?? Infinity) !== Infinity) return undefined
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
