/**
 * Claim words: how a batch sent ahead to a worker thread stays revocable until it starts. The
 * caller owns a SharedArrayBuffer of words per node, writes a batch's tag into a free word as it
 * sends the batch, and the word's index travels in the request (`REQUEST_HEADER`'s claim field).
 * Before running the batch the worker swaps the tag for STARTED; the caller takes a batch back
 * by swapping the tag for FREE. Exactly one of the two swaps succeeds: a batch taken back never
 * runs, and one that started is never taken back. The tag (not a flag) lets the caller reuse a
 * word at once for another batch while the one it took back still sits, unread, in the port.
 * Once its task modules have loaded and its calls begin, the worker marks the word RUNNING: a
 * worker that dies with a batch claimed but not running (still loading modules, behind another
 * batch's heap overrun) was not killed by that batch's code, and it is not blamed.
 */

/** Words per node: far above the batches a node has in flight (2, plus one per waiting parent). */
const WORDS = 4096
const FREE = 0
const STARTED = -1
const RUNNING = -3
/** A request that carries no claim word: it cannot be taken back. */
export const NO_CLAIM = -1
/** A request taken back before it was posted, posted anyway for the task definitions it carries. */
export const TAKEN_BACK = -2

/** A batch id as stored in a word: positive, never FREE or STARTED. */
function tag(batch: number): number {
  return (batch % 0x3fffffff) + 1
}

/** The caller's side: one per node, shared with each worker the node starts. */
export class ClaimWords {
  readonly buffer = new SharedArrayBuffer(WORDS * 4)
  private readonly words = new Int32Array(this.buffer)
  private readonly free: number[] = Array.from({ length: WORDS }, (_, i) => WORDS - 1 - i)

  /** A word for batch `batch`, marked as sent; NO_CLAIM when none is free. */
  take(batch: number): number {
    const index = this.free.pop()
    if (index === undefined) return NO_CLAIM
    Atomics.store(this.words, index, tag(batch))
    return index
  }

  /** Takes batch `batch` back if it has not started: true means it never will. */
  revoke(index: number, batch: number): boolean {
    return index !== NO_CLAIM && Atomics.compareExchange(this.words, index, tag(batch), FREE) === tag(batch)
  }

  /** Whether the batch's calls began (true too for a batch that had no word: it may have). */
  running(index: number): boolean {
    return index === NO_CLAIM || Atomics.load(this.words, index) === RUNNING
  }

  /** The batch has ended (or was taken back): its word may serve another. */
  release(index: number): void {
    if (index === NO_CLAIM) return
    Atomics.store(this.words, index, FREE)
    this.free.push(index)
  }
}

/** The worker's side: true if batch `batch` is this worker's to run (it was not taken back). */
export function claim(words: Int32Array | undefined, index: number, batch: number): boolean {
  if (words === undefined || index < 0) return index !== TAKEN_BACK
  return Atomics.compareExchange(words, index, tag(batch), STARTED) === tag(batch)
}

/** The worker's side, as a claimed batch's calls begin (its modules are loaded). */
export function markRunning(words: Int32Array | undefined, index: number): void {
  if (words !== undefined && index >= 0) Atomics.store(words, index, RUNNING)
}
