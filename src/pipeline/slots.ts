/**
 * The run-wide limit on steps running at once (`maxWorkers`), shared by a pipeline and every
 * pipeline nested in it: nested branches run on the one shared pool and never exceed it.
 * Composite steps (parallel, map) take no slot themselves; their leaves do.
 */
export class Slots {
  private waiters: Array<() => void> = []

  constructor(private free: number) {}

  /** Takes a slot if one is free. */
  take(): boolean {
    if (this.free === 0) return false
    this.free--
    return true
  }

  give(): void {
    this.free++
    for (const wake of this.waiters.splice(0)) wake()
  }

  /** Resolves at the next `give()`: a loop waiting for a slot freed elsewhere in the run. */
  released(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Waits for a slot, then takes it (map items, which have no ready queue of their own). */
  async acquire(signal: AbortSignal): Promise<void> {
    if (this.take()) return
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      while (!this.take()) {
        signal.throwIfAborted()
        await Promise.race([this.released(), aborted])
      }
    } finally {
      signal.removeEventListener('abort', onAbort!)
      aborted.catch(() => {})
    }
  }
}
