// 'auto' chunk sizes: how a known-length input is cut as it runs out.
import { describe, expect, it } from 'vitest'
import { nextChunkSize, runsLocally, typedRunsLocally } from '../../src/map/chunking.js'
import { probe } from '../../src/map/local.js'

/** The chunks a map would send for `total` items, taking them one after another. */
function cut(total: number, base: number, workers: number, floor: number): number[] {
  const chunks: number[] = []
  for (let left = total; left > 0; ) {
    const n = Math.min(left, nextChunkSize(base, left, workers, floor))
    chunks.push(n)
    left -= n
  }
  return chunks
}

describe('nextChunkSize', () => {
  it('keeps the base size while plenty is left, and never goes below the floor then', () => {
    expect(nextChunkSize(1250, 20_000, 2, 40)).toBe(1250)
    expect(nextChunkSize(1250, 400, 2, 40)).toBe(100) // guided: a quarter of what is left
    expect(nextChunkSize(1250, 100, 2, 40)).toBe(40) // the floor: ~2 ms of work
  })

  it('takes the base size when the length is unknown', () => {
    expect(nextChunkSize(64, undefined, 2, 40)).toBe(64)
  })

  it('never exceeds the base size, and always makes progress', () => {
    for (const [total, base, workers, floor] of [[10, 3, 4, 2], [1, 1, 1, 1], [999, 50, 16, 5], [7, 100, 2, 1000]] as const) {
      const chunks = cut(total, base, workers, floor)
      expect(chunks.every((n) => n >= 1 && n <= base)).toBe(true)
      expect(chunks.reduce((a, b) => a + b, 0)).toBe(total)
    }
  })
})

describe('probe', () => {
  it('measures a cheap function warm, not from its first, cold calls (which cost tens of times more)', async () => {
    const items = Array.from({ length: 65_536 }, (_, i) => i)
    const { cost, outcome } = await probe((x) => Math.sqrt(x as number) * 2, items, 0)
    // Warm, this is a few ns per item on any machine; cold calls measured 20–50 µs here.
    expect(cost!.msPerItem).toBeLessThan(0.002)
    expect(outcome.count).toBeGreaterThan(1000)
    expect(runsLocally(cost!, 2)).toBe(true)
  })
})

describe('typedRunsLocally (callerRuns, typed arrays)', () => {
  it('keeps a million elements of a few ns on the caller, and sends costly or many-microsecond ones', () => {
    expect(typedRunsLocally(0.000005, 1_000_000, 2)).toBe(true) // 5 ns: the loop beats staging and page faults
    expect(typedRunsLocally(0.05, 20_000, 2)).toBe(false) // 50 µs: the workers halve it
    expect(typedRunsLocally(0.0001, 1_000_000, 2)).toBe(false) // 100 ns × 1M = 100 ms of work
  })
})
