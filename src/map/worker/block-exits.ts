/**
 * A worker that exits inside an item of a typed-array block (`process.exit()` in the function)
 * says which item, as a chunk's rescue does (chunk-exits.ts), so that the caller fails that item
 * alone. Each thread of a blocks round has a few cells of the round's state (map-block-state.ts): the
 * claim it runs, the item running (stored before each item: one plain store, which the loop's
 * cost does not show), the first item of the claim whose result is kept outside shared memory,
 * and EXITED, which the worker's exit hook sets while an item runs synchronously. A store into a
 * SharedArrayBuffer made before the thread ends is seen by the caller; a message may never be.
 */

/** A thread's cells: the claim it runs, its item running (offset in the claim), set at exit, first offset + 1 with a result aside (0: none). */
export const CLAIM = 0
export const RUNNING = 1
const EXITED = 2
export const ASIDE = 3
/** Cells per thread. */
export const TRACK = 4

/** Where a worker exited inside an item. */
export interface ExitInItem {
  readonly claim: number
  /** The item running (an input index). */
  readonly at: number
  /** Items of the claim from here up to `at` had results outside shared memory (lost with the worker); `at` when none. */
  readonly asideFrom: number
}

/** The cells of the call running blocks on this worker now, for the exit hook. */
let running: Int32Array | undefined
let hooked = false

/** On a worker: from now until stopWatching, an exit marks `track`'s thread as ended inside its item. */
export function watchExits(track: Int32Array): void {
  if (!hooked) {
    hooked = true
    process.on('exit', () => {
      if (running !== undefined) Atomics.store(running, EXITED, 1)
    })
  }
  Atomics.store(track, EXITED, 0) // an earlier attempt's exit is not this one's
  running = track
}

export function stopWatching(): void {
  running = undefined
}

/** Item `i` of the claim starting at `start` has its result outside shared memory: noted where the first was. */
export function keepsAside(track: Int32Array, start: number, i: number): void {
  if (track[ASIDE] === 0) track[ASIDE] = i - start + 1
}

/** On the caller, once the thread's call has failed: where its worker exited inside an item, if it did. */
export function exitIn(track: Int32Array, claimStart: (k: number) => number): ExitInItem | undefined {
  if (Atomics.load(track, EXITED) === 0) return undefined
  const claim = Atomics.load(track, CLAIM)
  const start = claimStart(claim)
  const at = start + Atomics.load(track, RUNNING)
  const aside = Atomics.load(track, ASIDE)
  return { claim, at, asideFrom: aside === 0 ? at : Math.min(at, start + aside - 1) }
}
