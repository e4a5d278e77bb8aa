/**
 * The progress line's ETA: the work left divided by how many steps run at once. The work left is
 * each unfinished step's expected duration, less what a running step has already run. A step's
 * expected duration is its duration in an earlier run of the pipeline when there is one (the run
 * log has it), else the mean of the steps that have finished in this run; the steps at once are
 * those of the earlier run (its steps' summed time over its wall time), else the most this run
 * has had running. The steps' finishing rate, which this replaces, counts the pool's start-up and
 * the first step's wait as if every step would take as long, and is far off early.
 *
 * Only leaf steps are work: a parallel step's time is its branches'. Everything is given its
 * time by the caller (event times), so tests drive it with a virtual clock.
 */

/** Durations (ms) of the leaf steps of an earlier run of the pipeline, by full name, and its wall time. */
export interface RunHistory {
  readonly durations: ReadonlyMap<string, number>
  readonly wallMs: number
}

export class Eta {
  /** Leaf steps not finished, and when each running one started. */
  private readonly open = new Map<string, number | undefined>()
  /** Finished steps: a late `pending` (a retry's) does not reopen one. */
  private readonly done = new Set<string>()
  /** Durations of the leaf steps that ran and finished in this run (reused ones did not run). */
  private readonly ran: number[] = []
  private running = 0
  private peak = 0
  private readonly expected: ((name: string) => number) | undefined
  private readonly parallelism: number | undefined
  /** Steps of the earlier run not yet seen in this one (nested steps appear as their branch starts). */
  private readonly unseen: Set<string>

  constructor(history?: RunHistory) {
    const durations = history?.durations
    this.unseen = new Set(durations?.keys())
    if (durations === undefined || durations.size === 0) return
    const sorted = [...durations.values()].sort((a, b) => a - b)
    const median = sorted[sorted.length >> 1]!
    this.expected = (name) => durations.get(name) ?? median
    const total = sorted.reduce((a, b) => a + b, 0)
    this.parallelism = Math.max(1, history!.wallMs > 0 ? total / history!.wallMs : 1)
  }

  /** A leaf step is known and not finished (or waits to be retried). */
  pending(name: string): void {
    this.unseen.delete(name)
    if (this.done.has(name)) return
    if (this.open.get(name) !== undefined) this.running--
    this.open.set(name, undefined)
  }

  started(name: string, at: number): void {
    this.unseen.delete(name)
    if (this.done.has(name)) return
    if (this.open.get(name) === undefined) this.running++
    this.open.set(name, at)
    this.peak = Math.max(this.peak, this.running)
  }

  /** A leaf step ended; `ran` is false for one that was reused (cache, resume) or never started. */
  finished(name: string, at: number, ran: boolean): void {
    this.unseen.delete(name)
    const start = this.open.get(name)
    if (start !== undefined) {
      this.running--
      if (ran) this.ran.push(at - start)
    }
    this.open.delete(name)
    this.done.add(name)
  }

  /** Not a leaf (a parallel step): its branches' steps are the work, not its own time. */
  forget(name: string): void {
    this.unseen.delete(name)
    if (this.open.get(name) !== undefined) this.running--
    this.open.delete(name)
  }

  /** Ms left at `now`; undefined when nothing is known to go by yet, or nothing is left. */
  estimate(now: number): number | undefined {
    if (this.open.size + this.unseen.size === 0) return undefined
    const expected = this.expected ?? this.observed()
    if (expected === undefined) return undefined
    let work = 0
    for (const [name, start] of this.open) work += Math.max(0, expected(name) - (start === undefined ? 0 : now - start))
    for (const name of this.unseen) work += expected(name)
    return work / (this.parallelism ?? Math.max(1, this.peak))
  }

  /** The mean duration of the steps that finished in this run, for every step; none before one has. */
  private observed(): ((name: string) => number) | undefined {
    if (this.ran.length === 0) return undefined
    const mean = this.ran.reduce((a, b) => a + b, 0) / this.ran.length
    return () => mean
  }
}
