/**
 * Typed-array maps in shared memory, in blocks that threads claim from a shared counter
 * (dynamic self-scheduling, OpenMP's `schedule(dynamic)`). Each worker gets one call and takes
 * block after block until none is left, so however unevenly the threads get the CPU (a worker
 * that wakes late, a core shared with the calling thread), they finish within one block of
 * each other, and the calling thread never has to answer a worker mid-map. The calling thread
 * stages the input block by block (workers wait for a block that is not there yet) and takes
 * blocks itself for a moment (see src/map/typed-blocks.ts).
 *
 * The state buffer: four counters, then per claim (a block, or in a later round a range left
 * over) who claimed it (slot + 1) and whether it is done, then per thread what it is running.
 * A claim taken by a call whose worker was lost under it is claimed but not done: the caller
 * runs it again in a later round, so no result is ever partial or written twice wrong. A worker
 * that exits inside an item says which one (block-exits.ts).
 */
import { isMainThread } from 'node:worker_threads'
import { encodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import { resolveFn, type FnSpec, type ItemFn } from '../map/fn-spec.js'
import type { TypedArray } from '../map/outcome.js'
import { isThenable } from '../thenable.js'
import { alreadyChecked } from './runtime.js'
import { checkedResult, refusedResults } from './map-chunk.js'
import { exitIn, keepsAside, stopWatching, watchExits, ASIDE, CLAIM, RUNNING, TRACK, type ExitInItem } from './block-exits.js'

/** Int32 cells of the state: the next claim (an index into the round's claims). */
export const NEXT = 0
/** Claims of the input in shared memory so far (staged in order, so claim k is there when STAGED > k). */
export const STAGED = 1
/** Non-zero: claim nothing more (the map was aborted, or an item failed with stopOnError). */
export const STOP = 2
/** Items finished so far, for progress. */
export const DONE_ITEMS = 3
const HEADER = 4
/** STAGED once the whole input is in shared memory. */
export const ALL_STAGED = 0x7fffffff


export interface BlockPlan {
  readonly state: SharedArrayBuffer
  readonly input: TypedArray
  readonly output: TypedArray
  /** The index of `input[0]` among the map's items (the function is given item indices). */
  readonly offset: number
  /**
   * An array of numbers mapped through shared memory: a result that is not a number comes back
   * in `BlocksResult.others` (a typed array's results are numbers by definition).
   */
  readonly others: boolean
  readonly blockSize: number
  /** What this round runs: blocks, or the ranges a round before left over. */
  readonly claims: number
  /** [start, end) of each claim; undefined: the whole input in blocks of blockSize, in order. */
  readonly ranges: Float64Array | undefined
}

export interface BlocksResult {
  /** Failed items as [index in the input, what was thrown], in the order they ran. */
  errors?: Array<[number, EncodedThrown]>
  /** Results that are not numbers, as [index in the input, value] (plans with `others`). */
  others?: Array<[number, unknown]>
  /** Results still to come (an item's promise), by claim: settled by `settleWaiting`, never sent. */
  waiting?: Map<number, Array<[number, PromiseLike<unknown>]>>
  /**
   * Claims finished with results outside shared memory (a failed item, a result not a number):
   * done only once the caller has this result (`markDelivered`), so a worker lost before its
   * answer arrived has them run again instead of leaving zeros in their place.
   */
  delivered?: number[]
}

/** A fresh state for a round of `claims` claims run by `threads` threads (slots 0 to threads − 1). */
export function blockState(claims: number, threads: number): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER + 2 * claims + TRACK * threads) * 4)
}

/** Slot + 1 of the call that took claim `k`, or 0. */
export function claimedBy(cells: Int32Array, k: number): number {
  return Atomics.load(cells, HEADER + k)
}

export function isDone(cells: Int32Array, claims: number, k: number): boolean {
  return Atomics.load(cells, HEADER + claims + k) === 1
}

/** The first item of claim `k` (an index into the input). */
export function claimStart(plan: BlockPlan, k: number): number {
  return plan.ranges === undefined ? k * plan.blockSize : plan.ranges[2 * k]!
}

/** The end of claim `k` (exclusive). */
export function claimEnd(plan: BlockPlan, k: number): number {
  return plan.ranges === undefined ? Math.min(plan.input.length, (k + 1) * plan.blockSize) : plan.ranges[2 * k + 1]!
}

/** A thread's cells of the state. */
function trackOf(plan: BlockPlan, slot: number): Int32Array {
  return new Int32Array(plan.state, (HEADER + 2 * plan.claims + TRACK * slot) * 4, TRACK)
}

/** On the caller, once `slot`'s call has failed: the item its worker exited inside, if it did. */
export function exitInItem(plan: BlockPlan, slot: number): ExitInItem | undefined {
  return exitIn(trackOf(plan, slot), (k) => claimStart(plan, k))
}

/** The task a worker runs: blocks until none is left or the map stops. */
export async function mapBlocks(
  spec: FnSpec,
  plan: BlockPlan,
  slot: number,
  context: Record<string, unknown> | undefined,
  stopOnError: boolean,
): Promise<BlocksResult> {
  const fn = await resolveFn(spec, context)
  // On the calling thread (the inline backend) an exit ends the program: nothing to pin.
  if (!isMainThread) watchExits(trackOf(plan, slot))
  let result: BlocksResult
  try {
    result = runBlocks(fn, plan, slot, stopOnError)
  } finally {
    stopWatching() // from now on (promises) an exit is no one item's
  }
  await settleWaiting(plan, result, stopOnError)
  // Results that are not numbers were checked as they were kept; if clone refuses one anyway, its item fails alone.
  return alreadyChecked(result, () => othersChecked(result, plan.offset))
}

/** The result again, its non-number results checked thoroughly: those clone refuses fail their items; undefined if none does. */
function othersChecked(result: BlocksResult, offset: number): BlocksResult | undefined {
  const refused = refusedResults(result.others ?? [], offset)
  if (refused.length === 0) return undefined
  const failed = new Set(refused.map(([i]) => i))
  return { ...result, others: result.others!.filter(([i]) => !failed.has(i)), errors: [...(result.errors ?? []), ...refused] }
}

/**
 * Claims and runs blocks as `slot` until none is left, the map stops, or `until` (a
 * performance.now() time) has passed. Results go straight into the output.
 */
export function runBlocks(fn: ItemFn, plan: BlockPlan, slot: number, stopOnError: boolean, until = Infinity): BlocksResult {
  const { claims } = plan
  const cells = new Int32Array(plan.state)
  const track = trackOf(plan, slot)
  const result: BlocksResult = {}
  while (Atomics.load(cells, STOP) === 0 && performance.now() < until) {
    const k = Atomics.add(cells, NEXT, 1)
    if (k >= claims) break
    Atomics.store(cells, HEADER + k, slot + 1)
    for (let staged = Atomics.load(cells, STAGED); staged <= k; staged = Atomics.load(cells, STAGED)) {
      Atomics.wait(cells, STAGED, staged)
    }
    const start = claimStart(plan, k)
    const end = claimEnd(plan, k)
    track[CLAIM] = k
    track[ASIDE] = 0
    const aside = keptAside(result)
    for (let i = start; (i = plan.others ? runRangeKeeping(fn, plan, result, track, k, start, i, end) : runRange(fn, plan, track, start, i, end)) < end; i++) {
      if (failure.kept) {
        failure.kept = false
        keepTyped(plan, result, track, k, start, i, failure.value)
        continue
      }
      keepsAside(track, start, i)
      ;(result.errors ??= []).push([i, encodeThrown(failure.thrown)])
      if (stopOnError) {
        Atomics.store(cells, STOP, 1)
        return result
      }
    }
    // A claim with items still to come is done once they are (settleWaiting); one with results
    // aside already waits for delivery whatever they bring.
    const hasAside = keptAside(result) > aside
    if (!result.waiting?.has(k)) finish(cells, plan, result, k, hasAside)
    else if (hasAside) (result.delivered ??= []).push(k)
  }
  return result
}

/** Results of a call kept outside shared memory so far: they travel with its answer. */
function keptAside(result: BlocksResult): number {
  return (result.errors?.length ?? 0) + (result.others?.length ?? 0)
}

/** A finished claim: done now if all its results are in shared memory, else once delivered. */
function finish(cells: Int32Array, plan: BlockPlan, result: BlocksResult, k: number, aside: boolean): void {
  if (aside) (result.delivered ??= []).push(k)
  else markDone(cells, plan, k)
}

/** The caller has `result`: the claims whose results travelled with it are done. */
export function markDelivered(plan: BlockPlan, result: BlocksResult): void {
  const cells = new Int32Array(plan.state)
  for (const k of result.delivered ?? []) markDone(cells, plan, k)
}

function markDone(cells: Int32Array, plan: BlockPlan, k: number): void {
  Atomics.store(cells, HEADER + plan.claims + k, 1)
  Atomics.add(cells, DONE_ITEMS, claimEnd(plan, k) - claimStart(plan, k))
}

/**
 * An array of numbers whose function returned promises for some items (the probe saw plain
 * numbers): waits for them, all at once as a chunk's async items run, stores them like the
 * others, and only then counts their blocks as done, so a worker lost meanwhile has them run again.
 */
export async function settleWaiting(plan: BlockPlan, result: BlocksResult, stopOnError: boolean): Promise<void> {
  const waiting = result.waiting
  if (waiting === undefined) return
  delete result.waiting
  const cells = new Int32Array(plan.state)
  await Promise.all(
    [...waiting].map(async ([k, items]) => {
      let aside = false
      await Promise.all(items.map(async ([i, promise]) => {
        try {
          aside = store(plan, result, i, await promise) || aside
        } catch (thrown) {
          ;(result.errors ??= []).push([i, encodeThrown(thrown)])
          aside = true
          if (stopOnError) Atomics.store(cells, STOP, 1)
        }
      }))
      if (!result.delivered?.includes(k)) finish(cells, plan, result, k, aside) // else it waits for delivery already
    }),
  )
}

/** A result: into the output if a number (or of a typed array, which converts it), else kept aside (true), checked for sending. */
function store(plan: BlockPlan, result: BlocksResult, i: number, value: unknown): boolean {
  if (typeof value === 'number' || !plan.others) {
    plan.output[i] = value as number
    return false
  }
  ;(result.others ??= []).push([i, checkedResult(value, plan.offset + i)])
  return true
}

/**
 * Why a range runner stopped before its end: the item at the index it returned threw (`thrown`),
 * or, on a typed array, returned something that is not a number (`kept`, the value: a promise
 * of an async function, which the loop waits for rather than writing it to the output as NaN).
 */
const failure: { thrown: unknown; kept: boolean; value: unknown } = { thrown: undefined, kept: false, value: undefined }

/**
 * Maps items [start, end) into the output: `end`, or the index of the first item that threw.
 * The item running is stored before each, as an offset from its claim's first item `from`
 * (`track`: one plain store, which the loop's cost does not show), for an exit inside it. A small function of its own: V8 optimizes it after a few
 * blocks, where a loop inside the once-per-map claiming loop would run unoptimized until
 * on-stack replacement, map after map.
 */
function runRange(fn: ItemFn, plan: BlockPlan, track: Int32Array, from: number, start: number, end: number): number {
  const { input, output, offset } = plan
  let i = start
  try {
    for (; i < end; i++) {
      track[RUNNING] = i - from
      const value = fn(input[i], offset + i)
      if (typeof value !== 'number') {
        failure.kept = true
        failure.value = value
        return i
      }
      output[i] = value
    }
  } catch (thrown) {
    failure.thrown = thrown
  }
  return i
}

/** The same for an array of numbers: a result that is not a number is kept aside (a promise, until it settles). */
function runRangeKeeping(fn: ItemFn, plan: BlockPlan, result: BlocksResult, track: Int32Array, k: number, from: number, start: number, end: number): number {
  const { input, output, offset } = plan
  let i = start
  try {
    for (; i < end; i++) {
      track[RUNNING] = i - from
      const value = fn(input[i], offset + i)
      if (typeof value === 'number') output[i] = value
      else {
        keepsAside(track, from, i)
        if (isThenable(value)) waitFor(result, k, i, value)
        else store(plan, result, i, value)
      }
    }
  } catch (thrown) {
    failure.thrown = thrown
  }
  return i
}

/** A typed array's result that is not a number: a promise is waited for (settleWaiting), anything else converted as the array would. */
function keepTyped(plan: BlockPlan, result: BlocksResult, track: Int32Array, k: number, from: number, i: number, value: unknown): void {
  if (!isThenable(value)) {
    plan.output[i] = value as number
    return
  }
  keepsAside(track, from, i)
  waitFor(result, k, i, value)
}

function waitFor(result: BlocksResult, k: number, i: number, promise: PromiseLike<unknown>): void {
  const waiting = (result.waiting ??= new Map())
  const items = waiting.get(k)
  if (items === undefined) waiting.set(k, [[i, promise]])
  else items.push([i, promise])
}
