// Work-conserving dispatch on real threads, checked by counters inside the tasks (no timing).
import { describe, expect, it } from 'vitest'
import { gather } from 'spindle'
import { cells, tasks as t, usePools } from '../helpers/pools.js'

describe('thread dispatch', () => {
  const start = usePools()

  it('runs two long calls on two workers at once, not both on the first', async () => {
    const pool = await start({ workers: 2 })
    await pool.broadcast(t.noop()) // both workers up
    const c = cells(2)
    await pool.run(gather(t.countConcurrent(c.buffer, 200), t.countConcurrent(c.buffer, 200)))
    expect(c.view[1], 'most calls running at once').toBe(2)
  })

  it('never runs more calls at once than it has workers', async () => {
    const pool = await start({ workers: 2 })
    const c = cells(2)
    await pool.run(gather(...Array.from({ length: 40 }, () => t.countConcurrent(c.buffer, 2))))
    expect(c.view[1]).toBeLessThanOrEqual(2)
  })
})
