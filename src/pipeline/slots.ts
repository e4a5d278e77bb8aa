/**
 * The run-wide limit on steps in flight, shared by a pipeline and every pipeline nested in it:
 * nested branches run on the one shared pool and never exceed it. Composite steps (parallel,
 * map) take no slot themselves; their leaves do.
 *
 * The limit is `maxWorkers`, plus a look-ahead for steps known to be cheap. A step that costs a
 * few µs on a worker is dominated by its round trip; with only `maxWorkers` of them in flight,
 * each goes out alone. Letting more out lets the dispatcher put several in one message. The
 * extra steps wait in the pool's queue in the order they were started, which is the ready
 * queue's order then; a step readied later with a higher rank can wait behind them, but the
 * look-ahead is sized so that this wait is at most LOOKAHEAD_MS of work per worker.
 */
const LOOKAHEAD_MS = 1
/** At most this many extra steps per worker, however cheap they are. */
const MAX_LOOKAHEAD_PER_WORKER = 256

export class Slots {
  private inFlight = 0
  private readonly listeners = new Set<() => void>()

  /** `mayLookAhead`: whether the pool bounds its own concurrency to `limit` (else no look-ahead). */
  constructor(
    readonly limit: number,
    private readonly mayLookAhead = false,
  ) {}

  /**
   * Extra steps allowed in flight for a step measured at `msPerCall` on a worker: none for a
   * step of unknown or real cost, so such steps are started strictly by rank.
   */
  lookahead(msPerCall: number | undefined): number {
    if (!this.mayLookAhead || msPerCall === undefined || msPerCall >= LOOKAHEAD_MS) return 0
    const perWorker = Math.min(MAX_LOOKAHEAD_PER_WORKER, Math.floor(LOOKAHEAD_MS / Math.max(msPerCall, 1e-3)))
    return perWorker * this.limit
  }

  /** Takes a slot if one is free, counting `extra` look-ahead slots for this step. */
  take(extra = 0): boolean {
    if (this.inFlight >= this.limit + extra) return false
    this.inFlight++
    return true
  }

  /** Gives a slot back; every release listener but `from` (the giver's own) hears of it. */
  give(from?: () => void): void {
    this.inFlight--
    for (const listener of this.listeners) if (listener !== from) listener()
  }

  /**
   * Calls `listener` at every `give()` (but its own) until `stop()`. `give` gives a slot back as
   * this listener: a level that frees a slot itself need not be woken to hear of it.
   */
  onRelease(listener: () => void): { give(): void; stop(): void } {
    const own = () => listener() // a distinct entry, even for a listener added twice
    this.listeners.add(own)
    return { give: () => this.give(own), stop: () => void this.listeners.delete(own) }
  }

  /** Resolves at the next `give()`: a loop waiting for a slot freed elsewhere in the run. */
  released(): Promise<void> {
    return new Promise((resolve) => {
      const { stop } = this.onRelease(() => (stop(), resolve()))
    })
  }
}
