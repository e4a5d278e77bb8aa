/**
 * Typed-array maps in shared memory, in blocks that threads claim from a shared counter
 * (dynamic self-scheduling, OpenMP's `schedule(dynamic)`). Each worker gets one call and takes
 * block after block until none is left, so however unevenly the threads get the CPU (a worker
 * that wakes late, a core shared with the calling thread), they finish within one block of
 * each other, and the calling thread never has to answer a worker mid-map. The calling thread
 * stages the input block by block (workers wait for a block that is not there yet) and takes
 * blocks itself for a moment (see src/map/typed-blocks.ts).
 *
 * The state buffer: four counters, then per block who claimed it (slot + 1) and whether it is done.
 * A block claimed by a call whose worker was lost under it is claimed but not done: the caller
 * runs such blocks again in a later round, so no result is ever partial or written twice wrong.
 */
import { encodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import { resolveFn, type FnSpec, type ItemFn } from '../map/fn-spec.js'
import type { TypedArray } from '../map/outcome.js'
import { isThenable } from '../thenable.js'
import { alreadyChecked } from './runtime.js'
import { checkedResult, refusedResults } from './map-chunk.js'

/** Int32 cells of the state: the next claim (an index into the round's blocks). */
export const NEXT = 0
/** Blocks of the input in shared memory so far (staged in order, so block b is there when STAGED > b). */
export const STAGED = 1
/** Non-zero: claim nothing more (the map was aborted, or an item failed with stopOnError). */
export const STOP = 2
/** Items finished so far, for progress. */
export const DONE_ITEMS = 3
const HEADER = 4

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
  /** Blocks of the whole array. */
  readonly blocks: number
  /** The blocks this round runs, in claim order; undefined: every block, in order. */
  readonly list: Int32Array | undefined
}

export interface BlocksResult {
  /** Failed items as [index in the input, what was thrown], in the order they ran. */
  errors?: Array<[number, EncodedThrown]>
  /** Results that are not numbers, as [index in the input, value] (plans with `others`). */
  others?: Array<[number, unknown]>
  /** Results still to come (an item's promise), by block: settled by `settleWaiting`, never sent. */
  waiting?: Map<number, Array<[number, PromiseLike<unknown>]>>
  /**
   * Blocks finished with results outside shared memory (a failed item, a result not a number):
   * done only once the caller has this result (`markDelivered`), so a worker lost before its
   * answer arrived has them run again instead of leaving zeros in their place.
   */
  delivered?: number[]
}

/** A fresh state for a round over `blocks` blocks. */
export function blockState(blocks: number): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER + 2 * blocks) * 4)
}

/** Slot + 1 of the call that claimed block `b`, or 0. */
export function claimedBy(cells: Int32Array, b: number): number {
  return Atomics.load(cells, HEADER + b)
}

export function isDone(cells: Int32Array, blocks: number, b: number): boolean {
  return Atomics.load(cells, HEADER + blocks + b) === 1
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
  const result = runBlocks(fn, plan, slot, stopOnError)
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
  const { input, blockSize, blocks, list } = plan
  const cells = new Int32Array(plan.state)
  const claims = list === undefined ? blocks : list.length
  const result: BlocksResult = {}
  while (Atomics.load(cells, STOP) === 0 && performance.now() < until) {
    const k = Atomics.add(cells, NEXT, 1)
    if (k >= claims) break
    const b = list === undefined ? k : list[k]!
    Atomics.store(cells, HEADER + b, slot + 1)
    for (let staged = Atomics.load(cells, STAGED); staged <= b; staged = Atomics.load(cells, STAGED)) {
      Atomics.wait(cells, STAGED, staged)
    }
    const start = b * blockSize
    const end = Math.min(input.length, start + blockSize)
    const aside = keptAside(result)
    const run = plan.others ? runRangeKeeping : runRange
    for (let i = start; (i = run(fn, plan, result, i, end)) < end; i++) {
      ;(result.errors ??= []).push([i, encodeThrown(failure.thrown)])
      if (stopOnError) {
        Atomics.store(cells, STOP, 1)
        return result
      }
    }
    // A block with items still to come is done once they are (settleWaiting); one with results
    // aside already waits for delivery whatever they bring.
    const hasAside = keptAside(result) > aside
    if (!result.waiting?.has(b)) finish(cells, plan, result, b, hasAside)
    else if (hasAside) (result.delivered ??= []).push(b)
  }
  return result
}

/** Results of a call kept outside shared memory so far: they travel with its answer. */
function keptAside(result: BlocksResult): number {
  return (result.errors?.length ?? 0) + (result.others?.length ?? 0)
}

/** A finished block: done now if all its results are in shared memory, else once delivered. */
function finish(cells: Int32Array, plan: BlockPlan, result: BlocksResult, b: number, aside: boolean): void {
  if (aside) (result.delivered ??= []).push(b)
  else markDone(cells, plan, b)
}

/** The caller has `result`: the blocks whose results travelled with it are done. */
export function markDelivered(plan: BlockPlan, result: BlocksResult): void {
  const cells = new Int32Array(plan.state)
  for (const b of result.delivered ?? []) markDone(cells, plan, b)
}

function markDone(cells: Int32Array, plan: BlockPlan, b: number): void {
  Atomics.store(cells, HEADER + plan.blocks + b, 1)
  Atomics.add(cells, DONE_ITEMS, Math.min(plan.input.length, (b + 1) * plan.blockSize) - b * plan.blockSize)
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
    [...waiting].map(async ([b, items]) => {
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
      if (!result.delivered?.includes(b)) finish(cells, plan, result, b, aside) // else it waits for delivery already
    }),
  )
}

/** A result of an array of numbers: into the output if a number, else kept aside (true), checked for sending. */
function store(plan: BlockPlan, result: BlocksResult, i: number, value: unknown): boolean {
  if (typeof value === 'number') {
    plan.output[i] = value
    return false
  }
  ;(result.others ??= []).push([i, checkedResult(value, plan.offset + i)])
  return true
}

/** What the item at the index a range runner returned threw. */
const failure: { thrown: unknown } = { thrown: undefined }

/**
 * Maps items [start, end) into the output: `end`, or the index of the first item that threw.
 * A small function of its own: V8 optimizes it after a few blocks, where a loop inside the
 * once-per-map claiming loop would run unoptimized until on-stack replacement, map after map.
 */
function runRange(fn: ItemFn, plan: BlockPlan, _result: BlocksResult, start: number, end: number): number {
  const { input, output, offset } = plan
  let i = start
  try {
    for (; i < end; i++) output[i] = fn(input[i], offset + i) as number
  } catch (thrown) {
    failure.thrown = thrown
  }
  return i
}

/** The same for an array of numbers: a result that is not a number is kept aside (a promise, until it settles). */
function runRangeKeeping(fn: ItemFn, plan: BlockPlan, result: BlocksResult, start: number, end: number): number {
  const { input, output, offset, blockSize } = plan
  let i = start
  try {
    for (; i < end; i++) {
      const value = fn(input[i], offset + i)
      if (typeof value === 'number') output[i] = value
      else if (isThenable(value)) waitFor(result, Math.floor(i / blockSize), i, value)
      else store(plan, result, i, value)
    }
  } catch (thrown) {
    failure.thrown = thrown
  }
  return i
}

function waitFor(result: BlocksResult, b: number, i: number, promise: PromiseLike<unknown>): void {
  const waiting = (result.waiting ??= new Map())
  const items = waiting.get(b)
  if (items === undefined) waiting.set(b, [[i, promise]])
  else items.push([i, promise])
}
