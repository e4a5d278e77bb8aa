/**
 * A typed-array map (or an array of numbers staged as one) on a pool that shares this process's
 * memory (threads, inline): one call per worker, each claiming blocks from a shared counter (see
 * map/worker/map-blocks.ts, and map-block-state.ts).
 *
 * The calling thread stages the input block by block right after the calls go out (the workers
 * start on the first blocks while it copies the rest), then, where a core is free for it, takes
 * blocks itself for at most HELP_MS: on a small map it is a thread that would otherwise wait for
 * the workers to wake, and on a large one the event loop is back within a few milliseconds.
 * Blocks a lost worker had claimed but not finished run again in another round; the blocks of a
 * call that failed fail with its error, as a chunk would, except where its worker exited inside
 * an item: that item fails alone, those before it keep their results, the rest run again.
 */
import { availableParallelism } from 'node:os'
import type { CallSink } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'
import { decodeThrown } from '../protocol/error-codec.js'
import {
  blockState, claimEnd, claimStart, claimedBy, exitInItem, isDone, markDelivered, settleWaiting, ALL_STAGED, DONE_ITEMS, STAGED, STOP,
  type BlockPlan, type BlocksResult,
} from './worker/map-block-state.js'
import { runBlocks } from './worker/map-blocks.js'
import type { ExitInItem } from './worker/block-exits.js'
import type { FnSpec, ItemFn } from './fn-spec.js'
import { chunkFailed, itemError, type ChunkOutcome, type SharedArrays, type TypedArray } from './outcome.js'
import { InterruptedError, type MapItemError } from '../errors.js'

const BLOCKS_TASK: TaskRef = { module: new URL('./worker/map-blocks.js', import.meta.url).href, name: 'mapBlocks' }
/** How long the calling thread takes blocks itself, at most, per map. */
const HELP_MS = 4
/** Blocks per thread for 'auto': enough that threads finish within a small fraction of the map of each other. */
const BLOCKS_PER_THREAD = 16
const MIN_BLOCK = 1024
/** Rounds in a row that lose claims to lost workers, at most; a later round that finishes nothing ends the map too. */
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
  let ranges: Float64Array | undefined // a later round's: what the rounds before left over
  let lostRounds = 0
  let staged = shared.input === shared.original // already in shared memory
  for (let round = 1; ; round++) {
    const claims = ranges === undefined ? blocks : ranges.length / 2
    const slots = Math.min(compute.nodes, claims)
    const plan: BlockPlan = { state: blockState(claims, slots + 1), input: shared.input, output: shared.output, offset, others: options.into !== undefined, blockSize, claims, ranges }
    const cells = new Int32Array(plan.state)
    // On the inline backend the calls run on this very thread: the input must be there first.
    if (!staged && compute.offThread !== true) stage(shared, plan, cells)
    if (staged) Atomics.store(cells, STAGED, ALL_STAGED)
    const stop = () => Atomics.store(cells, STOP, 1)
    options.signal.addEventListener('abort', stop)
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
      const left = unfinished(plan, outcomes, errors, options.stopOnError)
      lostRounds = left.lost ? lostRounds + 1 : 0
      const lastRound = left.again.length === 0
      // A round that settles nothing of what was left ends the map (the first may lose everything to one crash).
      if (!lastRound && (lostRounds === MAX_ROUNDS || (round > 1 && Atomics.load(cells, DONE_ITEMS) === 0 && left.settled === 0))) {
        throw new InterruptedError(
          `parallelMap: ${left.again.length / 2} blocks of the typed array were claimed by workers that were lost before finishing them, ` +
            `${lostRounds} rounds in a row. Check what ends the pool's workers (its nodes' status, memory limits).`,
          lostRounds,
        )
      }
      errors.sort((a, b) => a[0] - b[0])
      const last = progressed()
      yield { ...last, count: last.count + left.settled, errors: errors.length > 0 ? errors : undefined }
      if (lastRound) {
        if (options.into !== undefined) fill(options.into, offset, shared.output, others)
        return
      }
      ranges = Float64Array.from(left.again)
    } finally {
      options.signal.removeEventListener('abort', stop)
      stop() // calls still running (the map threw) claim nothing more
    }
  }
}

type CallOutcome = { ok: true; value: BlocksResult } | { ok: false; error: unknown }

/** What a round left unfinished. */
interface Unfinished {
  /** [start, end) pairs to run in another round. */
  readonly again: number[]
  /** Items settled here, not counted as done by the workers: failed with their call, or kept from a worker that exited after them. */
  readonly settled: number
  /** Whether work was lost with a worker that nobody blamed (an interruption). */
  readonly lost: boolean
}

/**
 * The claims of a round left unfinished. Those of a call that failed fail with its error (into
 * `errors`, all their items), unless its worker exited inside an item: that item fails alone,
 * the items before it keep their results (in shared memory), and the rest run again, as do its
 * other claims (their results were lost with it). The rest (taken by an attempt whose worker was
 * lost, or never taken) run again, unless the map was stopped.
 */
function unfinished(plan: BlockPlan, outcomes: readonly CallOutcome[], errors: Array<[number, MapItemError]>, stopOnError: boolean): Unfinished {
  const cells = new Int32Array(plan.state)
  const { claims, offset } = plan
  const exits = outcomes.map((o, slot): ExitInItem | undefined => (o.ok ? undefined : exitInItem(plan, slot)))
  const blocking = outcomes.find((o, slot) => !o.ok && exits[slot] === undefined)
  // With stopOnError the map ends at the exit's item: nothing after it runs again.
  const stopped = Atomics.load(cells, STOP) !== 0 || (stopOnError && exits.some((e) => e !== undefined))
  const again: number[] = []
  const rerun = (start: number, end: number) => void (!stopped && end > start && again.push(start, end))
  let settled = 0
  let lost = false
  for (let k = 0; k < claims; k++) {
    if (isDone(cells, claims, k)) continue
    const owner = claimedBy(cells, k) // slot + 1; the calling thread's slot is past the calls'
    const outcome = owner > 0 ? outcomes[owner - 1] : undefined
    const exit = owner > 0 ? exits[owner - 1] : undefined
    const start = claimStart(plan, k)
    const end = claimEnd(plan, k)
    if (exit !== undefined && outcome?.ok === false) {
      if (exit.claim !== k) {
        rerun(start, end)
        continue
      }
      settled += exit.asideFrom - start + 1 // kept, and the item that was running
      rerun(exit.asideFrom, exit.at) // results that travel with an answer were lost with it
      errors.push([offset + exit.at, itemError(offset + exit.at, outcome.error)])
      rerun(exit.at + 1, end)
      continue
    }
    const failure = outcome !== undefined && !outcome.ok ? outcome : owner === 0 ? blocking : undefined
    if (failure !== undefined && !failure.ok) {
      for (const [i, error] of chunkFailed(offset + start, end - start, failure.error).errors!) errors.push([offset + start + i, error])
      settled += end - start
    } else {
      if (!stopped && owner > 0) lost = true
      rerun(start, end)
    }
  }
  return { again, settled, lost }
}

/** Copies the input into shared memory block by block (the first round's claims), waking workers waiting for a block. */
function stage(shared: SharedArrays, plan: BlockPlan, cells: Int32Array): void {
  for (let b = 0; b < plan.claims; b++) {
    shared.stage(claimStart(plan, b), claimEnd(plan, b))
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
