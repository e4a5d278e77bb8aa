/**
 * A typed-array map (or an array of numbers staged as one) on a pool that shares this process's
 * memory (threads, inline): one call per worker, each claiming blocks from a shared counter (see
 * src/worker/map-blocks.ts).
 *
 * The calling thread stages the input block by block right after the calls go out (the workers
 * start on the first blocks while it copies the rest), then, where a core is free for it, takes
 * blocks itself for at most HELP_MS: on a small map it is a thread that would otherwise wait for
 * the workers to wake, and on a large one the event loop is back within a few milliseconds.
 * Blocks a lost worker had claimed but not finished run again in another round; the blocks of a
 * call that failed fail with its error, as a chunk would.
 */
import { availableParallelism } from 'node:os'
import type { CallSink } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'
import { decodeThrown } from '../protocol/error-codec.js'
import { blockState, claimedBy, isDone, markDelivered, runBlocks, settleWaiting, DONE_ITEMS, STAGED, STOP, type BlockPlan, type BlocksResult } from '../worker/map-blocks.js'
import type { FnSpec, ItemFn } from './fn-spec.js'
import { chunkFailed, itemError, type ChunkOutcome, type SharedArrays, type TypedArray } from './outcome.js'
import { InterruptedError, type MapItemError } from '../errors.js'

const BLOCKS_TASK: TaskRef = { module: new URL('../worker/map-blocks.js', import.meta.url).href, name: 'mapBlocks' }
/** How long the calling thread takes blocks itself, at most, per map. */
const HELP_MS = 4
/** Blocks per thread for 'auto': enough that threads finish within a small fraction of the map of each other. */
const BLOCKS_PER_THREAD = 16
const MIN_BLOCK = 1024
/** Rounds for blocks whose workers were lost; a later round that finishes none of them ends the map. */
const MAX_ROUNDS = 4
const PROGRESS_MS = 100

export interface TypedBlocksOptions {
  /** Items per block; for 'auto', about BLOCKS_PER_THREAD blocks per thread. */
  readonly chunkSize: number | 'auto'
  /** The index of the input's first element among the map's items. @default 0 */
  readonly offset?: number
  /** An array of numbers (see BlockPlan.others): results go here, by item index, numbers or not. */
  readonly into?: unknown[]
  readonly signal: AbortSignal
  readonly stopOnError: boolean
  readonly context: Record<string, unknown> | undefined
  readonly costKey: number
  /** Whether progress is wanted (outcomes are then yielded while the workers run, not only at the end). */
  readonly progress: boolean
}

/** Items per block: the given chunk size, or for 'auto' about BLOCKS_PER_THREAD blocks per thread. */
export function blockSizeFor(total: number, threads: number, chunkSize: number | 'auto'): number {
  if (chunkSize !== 'auto') return chunkSize
  return Math.max(1, Math.min(total, MIN_BLOCK), Math.ceil(total / (threads * BLOCKS_PER_THREAD)))
}

/**
 * Yields outcomes whose counts add up to the items done (progress) and whose errors name items
 * by item index (`start` 0). `local` is the function on this thread (undefined: it cannot load here).
 */
export async function* mapTypedBlocks(
  compute: CallSink,
  spec: FnSpec,
  shared: SharedArrays,
  local: ItemFn | undefined,
  options: TypedBlocksOptions,
): AsyncGenerator<ChunkOutcome> {
  const total = shared.input.length
  if (total === 0) return
  const offset = options.offset ?? 0
  const others: Array<[number, unknown]> = []
  // The calling thread helps only where a core is left for it: on a pool with a worker per
  // core, a third thread would only take turns with them (measured: 1.1–1.8× slower on 2 cores).
  const helps = local !== undefined && compute.offThread === true && compute.nodes < availableParallelism()
  const blockSize = blockSizeFor(total, compute.nodes + (helps ? 1 : 0), options.chunkSize)
  const blocks = Math.ceil(total / blockSize)
  let list: Int32Array | undefined
  let staged = shared.input === shared.original // already in shared memory
  for (let round = 1; ; round++) {
    const plan: BlockPlan = { state: blockState(blocks), input: shared.input, output: shared.output, offset, others: options.into !== undefined, blockSize, blocks, list }
    const cells = new Int32Array(plan.state)
    const claims = list?.length ?? blocks
    // On the inline backend the calls run on this very thread: the input must be there first.
    if (!staged && compute.offThread !== true) stage(shared, plan, cells)
    if (staged) Atomics.store(cells, STAGED, blocks)
    const stop = () => Atomics.store(cells, STOP, 1)
    options.signal.addEventListener('abort', stop)
    const slots = Math.min(compute.nodes, claims)
    const calls = Array.from({ length: slots }, (_, slot) =>
      compute
        .submit(BLOCKS_TASK, [spec, plan, slot, options.context, options.stopOnError], { signal: options.signal, costKey: options.costKey, node: slot })
        .then((value): CallOutcome => ({ ok: true, value: value as BlocksResult }), (error: unknown): CallOutcome => ({ ok: false, error })),
    )
    try {
      if (!staged) {
        await null // the pool sends what was submitted a microtask later: let it, before copying
        stage(shared, plan, cells)
      }
      staged = true
      const errors: Array<[number, MapItemError]> = []
      let reported = 0
      const progressed = (): ChunkOutcome => {
        const done = Atomics.load(cells, DONE_ITEMS)
        const outcome = { start: 0, count: done - reported, values: undefined, errors: undefined }
        reported = done
        return outcome
      }
      if (helps) {
        const helped = runBlocks(local, plan, slots, options.stopOnError, performance.now() + HELP_MS)
        await settleWaiting(plan, helped, options.stopOnError)
        addResult(errors, others, plan, helped)
      }
      const all = Promise.all(calls)
      if (options.progress) {
        for (let settled = false; !settled; ) {
          settled = await settledWithin(all, PROGRESS_MS)
          yield progressed()
        }
      }
      const outcomes = await all
      if (options.signal.aborted) throw options.signal.reason
      for (const outcome of outcomes) if (outcome.ok) addResult(errors, others, plan, outcome.value)
      const { again, failedItems } = unfinished(plan, claims, outcomes, errors)
      const lastRound = again.length === 0 || Atomics.load(cells, STOP) !== 0
      // A second round that finishes none of what it ran again ends the map (the first may lose everything to one crash).
      if (!lastRound && (round === MAX_ROUNDS || (round > 1 && again.length === claims))) {
        throw new InterruptedError(
          `parallelMap: ${again.length} blocks of the typed array were claimed by workers that were lost before finishing them, ` +
            `${round} rounds in a row. Check what ends the pool's workers (its nodes' status, memory limits).`,
          round,
        )
      }
      errors.sort((a, b) => a[0] - b[0])
      const last = progressed()
      yield { ...last, count: last.count + failedItems, errors: errors.length > 0 ? errors : undefined }
      if (lastRound) {
        if (options.into !== undefined) fill(options.into, offset, shared.output, others)
        return
      }
      list = Int32Array.from(again)
    } finally {
      options.signal.removeEventListener('abort', stop)
      stop() // calls still running (the map threw) claim nothing more
    }
  }
}

type CallOutcome = { ok: true; value: BlocksResult } | { ok: false; error: unknown }

/**
 * The blocks of a round left unfinished: those a failed call had claimed fail with its error
 * (into `errors`, all their items); the rest (claimed by an attempt whose worker was lost, or
 * never claimed) are to run again, unless the map was stopped.
 */
function unfinished(plan: BlockPlan, claims: number, outcomes: readonly CallOutcome[], errors: Array<[number, MapItemError]>): { again: number[]; failedItems: number } {
  const cells = new Int32Array(plan.state)
  const { blocks, blockSize, list, offset } = plan
  const total = plan.input.length
  const firstFailure = outcomes.find((o) => !o.ok)
  const again: number[] = []
  let failedItems = 0
  for (let k = 0; k < claims; k++) {
    const b = list === undefined ? k : list[k]!
    if (isDone(cells, blocks, b)) continue
    const owner = claimedBy(cells, b) // slot + 1; the calling thread's slot is past the calls'
    const failure = owner > 0 && owner <= outcomes.length ? outcomes[owner - 1]! : firstFailure
    const start = b * blockSize
    const count = Math.min(total, start + blockSize) - start
    if (failure !== undefined && !failure.ok) {
      for (const [i, error] of chunkFailed(offset + start, count, failure.error).errors!) errors.push([offset + start + i, error])
      failedItems += count
    } else if (Atomics.load(cells, STOP) === 0) {
      again.push(b)
    }
  }
  return { again, failedItems }
}

/** Copies the input into shared memory block by block, waking workers waiting for a block. */
function stage(shared: SharedArrays, plan: BlockPlan, cells: Int32Array): void {
  for (let b = 0; b < plan.blocks; b++) {
    shared.stage(b * plan.blockSize, Math.min(shared.input.length, (b + 1) * plan.blockSize))
    Atomics.store(cells, STAGED, b + 1)
    Atomics.notify(cells, STAGED)
  }
}

/** A call's (or this thread's) failures and non-number results, by item index. */
function addResult(errors: Array<[number, MapItemError]>, others: Array<[number, unknown]>, plan: BlockPlan, result: BlocksResult): void {
  const { offset } = plan
  markDelivered(plan, result)
  for (const [i, thrown] of result.errors ?? []) errors.push([offset + i, itemError(offset + i, decodeThrown(thrown))])
  for (const [i, value] of result.others ?? []) others.push([offset + i, value])
}

/** The results of an array of numbers, into the map's result array. */
function fill(into: unknown[], offset: number, output: TypedArray, others: ReadonlyArray<[number, unknown]>): void {
  for (let i = 0; i < output.length; i++) into[offset + i] = output[i]
  for (const [index, value] of others) into[index] = value
}

/** Whether `promise` settles within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)))
  try {
    return await Promise.race([promise.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}
