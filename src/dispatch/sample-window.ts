/**
 * The most recent samples of a duration, in fixed memory: a ring of (value, weight) pairs, where
 * a weight is how many calls a sample stands for (a batch's calls share one). Adding is two
 * typed-array writes; percentiles sort the window when asked (stats are read rarely).
 */

/** Percentiles of a duration in ms, over the calls of a recent window (`count` of them). */
export interface Percentiles {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  /** How many calls the figures stand for. */
  readonly count: number
}

export const WINDOW_SAMPLES = 1024

export class SampleWindow {
  private readonly values: Float64Array
  private readonly weights: Float64Array
  /** Where the next sample goes. */
  private next = 0
  private filled = 0

  constructor(readonly capacity = WINDOW_SAMPLES) {
    this.values = new Float64Array(capacity)
    this.weights = new Float64Array(capacity)
  }

  /**
   * Adds `weight` calls that took `value` ms. Equal to the newest sample, it joins it: the calls
   * of a batch that were queued in the same tick are one sample, not one each.
   */
  add(value: number, weight: number): void {
    const last = this.next === 0 ? this.capacity - 1 : this.next - 1
    if (this.filled > 0 && this.values[last] === value) {
      this.weights[last]! += weight
      return
    }
    this.values[this.next] = value
    this.weights[this.next] = weight
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1
    if (this.filled < this.capacity) this.filled++
  }

  /**
   * Nearest-rank percentiles by weight (the smallest value that at least p% of the calls did not
   * exceed), or undefined while the window is empty.
   */
  percentiles(): Percentiles | undefined {
    if (this.filled === 0) return undefined
    const order = Array.from({ length: this.filled }, (_, i) => i).sort((a, b) => this.values[a]! - this.values[b]!)
    let count = 0
    for (const i of order) count += this.weights[i]!
    const at = (p: number): number => {
      const rank = Math.max(1, Math.ceil((p * count) / 100)) // integers first: 0.9 * 10 is not 9
      let seen = 0
      for (const i of order) {
        seen += this.weights[i]!
        if (seen >= rank) return this.values[i]!
      }
      return this.values[order[order.length - 1]!]!
    }
    return { p50: at(50), p90: at(90), p99: at(99), max: this.values[order[order.length - 1]!]!, count }
  }
}
