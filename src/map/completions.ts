/** Settled promises in the order they settle: a queue the map engine awaits one result at a time. */
export class Completions<T> {
  private readonly settled: Array<{ ok: true; value: T } | { ok: false; reason: unknown }> = []
  private wake: (() => void) | undefined
  private pending = 0

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
    const first = this.settled.shift()!
    this.pending--
    if (!first.ok) throw first.reason
    return first.value
  }

  private arrive(result: { ok: true; value: T } | { ok: false; reason: unknown }): void {
    this.settled.push(result)
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}
