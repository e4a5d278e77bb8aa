/**
 * Results of a long map chunk sent ahead of its answer. On a pool of other processes or hosts
 * an agent can be lost mid-chunk (killed, out of memory, a host gone), and the chunk's call then
 * runs again: without these, every item of it, finished or not. So a chunk that runs long sends
 * the results of its finished items every FLUSH_MS of its own time (worker → agent → caller, a
 * PartialResult for the chunk's call); the caller keeps them and moves the chunk's `from` past
 * them (map/chunk-call.ts), and an attempt after a loss runs only the rest. The answer then
 * carries only what was not sent ahead. Only while the chunk runs synchronously: once an item
 * returns a promise, results no longer finish in order and nothing more is sent.
 *
 * The clock is read every `step` items, sized from the items' measured cost to a tenth of the
 * interval: tiny items pay one clock read per thousands of them, and a chunk shorter than the
 * interval sends nothing at all.
 */
import type { EncodedThrown } from '../../protocol/error-codec.js'
import { sendPartial } from '../../worker/context.js'
import type { ChunkResult } from './map-chunk-types.js'

const FLUSH_MS = 25
const MAX_STEP = 4096

/** One batch of results sent ahead: those of the chunk's items `from`, `from + 1`, ... */
export interface PartialData {
  readonly from: number
  readonly values: unknown[]
  /** Failed items among them, as [offset in the chunk, encoded thrown value]. */
  readonly errors: Array<[number, EncodedThrown]> | undefined
}

export class PartialSender {
  /** Offset of the first item whose result has not been sent. */
  private sent: number
  private errorsSent = 0
  /** The offset of the item before which the clock is read next. */
  due: number
  private sentAt: number
  private checkedAt: number
  private checkedItem: number

  constructor(
    /** The chunk's results by offset, filled as items finish. */
    private readonly values: unknown[],
    /** The chunk's failures so far, in offset order. */
    private readonly errors: () => Array<[number, EncodedThrown]> | undefined,
    from: number,
  ) {
    this.sent = this.checkedItem = from
    this.due = from + 1
    this.sentAt = this.checkedAt = performance.now()
  }

  /** Before item `i` runs (every item before it has its result): sends those not sent yet, if it is time. */
  check(i: number): void {
    const now = performance.now()
    const perItem = (now - this.checkedAt) / (i - this.checkedItem)
    this.checkedAt = now
    this.checkedItem = i
    this.due = i + Math.max(1, Math.min(MAX_STEP, Math.floor(FLUSH_MS / 10 / perItem)))
    if (now - this.sentAt < FLUSH_MS) return
    this.sentAt = now
    const all = this.errors()
    let e = this.errorsSent
    while (all !== undefined && e < all.length && all[e]![0] < i) e++
    const errors = e > this.errorsSent ? all!.slice(this.errorsSent, e) : undefined
    if (!sendPartial({ from: this.sent, values: this.values.slice(this.sent, i), errors } satisfies PartialData)) return this.stop()
    this.sent = i
    this.errorsSent = e
  }

  /** Nothing more is sent (an item returned a promise: results no longer finish in order). */
  stop(): void {
    this.due = Infinity
  }

  /** The chunk's answer: only what was not sent ahead, `from` saying where its values begin. */
  rest(result: ChunkResult): ChunkResult {
    if (this.sent === 0) return result
    const errors = result.errors?.slice(this.errorsSent)
    return { ...result, from: this.sent, values: result.values?.slice(this.sent), errors: errors?.length ? errors : undefined }
  }
}
