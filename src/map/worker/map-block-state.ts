/**
 * The claims of a round of a blocks map (map-blocks.ts runs them), and when each is done. The
 * state buffer: four counters, then per claim (a block, or in a later round a range left over)
 * who claimed it (slot + 1) and whether it is done, then per thread what it is running
 * (block-exits.ts). A claim taken by a call whose worker was lost under it is claimed but not
 * done: the caller runs it again in a later round, so no result is ever partial or written twice
 * wrong. Results that cannot go straight into the shared output (failed items, results that are
 * not numbers) travel with the call's answer, "aside", and make their claim done only once
 * delivered; an async function's promises are waited for before their claims are done. The
 * caller (map/typed-blocks.ts) and the workers read the state alike.
 */
import { encodeThrown, type EncodedThrown } from '../../protocol/error-codec.js'
import type { TypedArray } from '../outcome.js'
import { isThenable } from '../../thenable.js'
import { checkedResult } from './map-chunk.js'
import { exitIn, keepsAside, TRACK, type ExitInItem } from './block-exits.js'

/** Int32 cells of the state: the next claim (an index into the round's claims). */
export const NEXT = 0
/** Claims of the input in shared memory so far (staged in order, so claim k is there when STAGED > k). */
export const STAGED = 1
/** Non-zero: claim nothing more (the map was aborted, or an item failed with stopOnError). */
export const STOP = 2
/** Items finished so far, for progress. */
export const DONE_ITEMS = 3
export const HEADER = 4
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
export function trackOf(plan: BlockPlan, slot: number): Int32Array {
  return new Int32Array(plan.state, (HEADER + 2 * plan.claims + TRACK * slot) * 4, TRACK)
}

/** On the caller, once `slot`'s call has failed: the item its worker exited inside, if it did. */
export function exitInItem(plan: BlockPlan, slot: number): ExitInItem | undefined {
  return exitIn(trackOf(plan, slot), (k) => claimStart(plan, k))
}

/** The caller has `result`: the claims whose results travelled with it are done. */
export function markDelivered(plan: BlockPlan, result: BlocksResult): void {
  const cells = new Int32Array(plan.state)
  for (const k of result.delivered ?? []) markDone(cells, plan, k)
}

/** Claim `k` is done: its results are where the caller reads them. */
export function markDone(cells: Int32Array, plan: BlockPlan, k: number): void {
  Atomics.store(cells, HEADER + plan.claims + k, 1)
  Atomics.add(cells, DONE_ITEMS, claimEnd(plan, k) - claimStart(plan, k))
}

/** Results of a call kept outside shared memory so far: they travel with its answer. */
export function keptAside(result: BlocksResult): number {
  return (result.errors?.length ?? 0) + (result.others?.length ?? 0)
}

/** A finished claim: done now if all its results are in shared memory, else once delivered. */
export function finish(cells: Int32Array, plan: BlockPlan, result: BlocksResult, k: number, aside: boolean): void {
  if (aside) (result.delivered ??= []).push(k)
  else markDone(cells, plan, k)
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
export function store(plan: BlockPlan, result: BlocksResult, i: number, value: unknown): boolean {
  if (typeof value === 'number' || !plan.others) {
    plan.output[i] = value as number
    return false
  }
  ;(result.others ??= []).push([i, checkedResult(value, plan.offset + i)])
  return true
}

/** A typed array's result that is not a number: a promise is waited for (settleWaiting), anything else converted as the array would. */
export function keepTyped(plan: BlockPlan, result: BlocksResult, track: Int32Array, k: number, from: number, i: number, value: unknown): void {
  if (!isThenable(value)) {
    plan.output[i] = value as number
    return
  }
  keepsAside(track, from, i)
  waitFor(result, k, i, value)
}

export function waitFor(result: BlocksResult, k: number, i: number, promise: PromiseLike<unknown>): void {
  const waiting = (result.waiting ??= new Map())
  const items = waiting.get(k)
  if (items === undefined) waiting.set(k, [[i, promise]])
  else items.push([i, promise])
}
