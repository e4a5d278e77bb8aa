// How many calls go in one message: slow start per cost key, capped by cost and by a fair share
// of the queue; a batch that was short only because the queue was short keeps the growth earned.
import { describe, expect, it } from 'vitest'
import { BatchSizer } from '../../src/dispatch/batch-sizer.js'

describe('BatchSizer', () => {
  it('sends an unmeasured key one call at a time, then at most doubles', () => {
    const sizer = new BatchSizer()
    expect(sizer.size(1, 1000, 1)).toBe(1)
    sizer.record(1, 1, 0.001)
    expect(sizer.size(1, 1000, 1)).toBe(2)
    sizer.record(1, 2, 0.002)
    expect(sizer.size(1, 1000, 1)).toBe(4)
  })

  it('keeps the growth earned when a batch was short because the queue was', () => {
    const sizer = new BatchSizer()
    for (let size = 1; size <= 64; size *= 2) sizer.record(1, size, size * 0.001)
    sizer.record(1, 1, 0.001) // one call was all there was to send
    expect(sizer.size(1, 1000, 1)).toBe(128)
  })

  it('restarts the growth when a batch is much slower than predicted', () => {
    const sizer = new BatchSizer()
    for (let size = 1; size <= 64; size *= 2) sizer.record(1, size, size * 0.001)
    sizer.record(1, 4, 4 * 0.5) // 500× the estimate per call
    expect(sizer.size(1, 1000, 1)).toBe(4)
  })

  it('never takes more than a fair share of the queue, nor more than the target time', () => {
    const sizer = new BatchSizer()
    for (let size = 1; size <= 512; size *= 2) sizer.record(1, size, size * 0.001)
    expect(sizer.size(1, 40, 2)).toBe(10) // 40 queued over 2 nodes, two batches each
    for (let size = 1; size <= 8; size *= 2) sizer.record(2, size, size * 0.5)
    expect(sizer.size(2, 1000, 1)).toBe(4) // a 2 ms batch at 0.5 ms per call
  })
})
