/**
 * Typed-array maps in shared memory, in blocks that threads claim from a shared counter
 * (dynamic self-scheduling, OpenMP's `schedule(dynamic)`). Each worker gets one call and takes
 * block after block until none is left, so however unevenly the threads get the CPU (a worker
 * that wakes late, a core shared with the calling thread), they finish within one block of
 * each other, and the calling thread never has to answer a worker mid-map. The calling thread
 * stages the input block by block (workers wait for a block that is not there yet) and takes
 * blocks itself for a moment (see src/map/typed-blocks.ts). The claims, their shared state and
 * when each is done: map-block-state.ts; a worker that exits inside an item says which one
 * (block-exits.ts).
 */
import { isMainThread } from 'node:worker_threads'
import { encodeThrown } from '../../protocol/error-codec.js'
import { resolveFn, type FnSpec, type ItemFn } from '../fn-spec.js'
import { isThenable } from '../../thenable.js'
import { alreadyChecked } from '../../worker/runtime.js'
import { refusedResults } from './map-chunk.js'
import { keepsAside, stopWatching, watchExits, ASIDE, CLAIM, RUNNING } from './block-exits.js'
import {
  claimEnd, claimStart, finish, keepTyped, keptAside, settleWaiting, store, trackOf, waitFor, HEADER, NEXT, STAGED, STOP,
  type BlockPlan, type BlocksResult,
} from './map-block-state.js'

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

