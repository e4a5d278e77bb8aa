/** Settled promises in the order they settle: a queue the map engine awaits one result at a time. */
export class Completions<T> {
  private readonly settled: Array<{ ok: true; value: T } | { ok: false; reason: unknown }> = []
  private wake: (() => void) | undefined
  private pending = 0
  private poked = false

  get size(): number {
    return this.pending
  }

  add(promise: Promise<T>): void {
    this.pending++
    promise.then(
      (value) => this.arrive({ ok: true, value }),
      (reason: unknown) => this.arrive({ ok: false, reason }),
    )
  }

  /** The next promise to settle (rejections are rethrown). */
  async next(): Promise<T> {
    while (this.settled.length === 0) await new Promise<void>((resolve) => (this.wake = resolve))
    return this.poll()!
  }

  /** A value that has already settled, without waiting; undefined if none has (rejections are rethrown). */
  poll(): T | undefined {
    const first = this.settled.shift()
    if (first === undefined) return undefined
    this.pending--
    if (!first.ok) throw first.reason
    return first.value
  }

  /**
   * The next promise to settle, or undefined as soon as `poke()` is called: one wait for
   * "a result, or something else changed" (a pipeline level waiting for a slot freed elsewhere).
   */
  async nextOrPoke(): Promise<T | undefined> {
    while (this.settled.length === 0 && !this.poked) await new Promise<void>((resolve) => (this.wake = resolve))
    if (this.settled.length === 0) {
      this.poked = false
      return undefined
    }
    return this.next()
  }

  /** Wakes a `nextOrPoke()` waiter without a result. */
  poke(): void {
    this.poked = true
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private arrive(result: { ok: true; value: T } | { ok: false; reason: unknown }): void {
    this.settled.push(result)
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}
