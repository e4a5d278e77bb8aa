// parallelMap inside a task: it runs on the pool the task runs on, never deadlocks when every
// worker is busy, and never uses a thread the pool does not have.
import { describe, expect, it } from 'vitest'
import { gather } from 'spindle'
import { BACKENDS, tasks as t, usePools } from '../helpers/pools.js'

// The fixture is plain JS (its parallelMap call is typed from `any`): this is what nestedMap returns.
type Nested = { parentThread: number; results: Array<{ square: number; thread: number }> }

describe.each(BACKENDS)('parallelMap inside a task, on $name', ({ name, options }) => {
  const start = usePools()

  it('fans out over the pool the task runs on', async () => {
    const pool = await start(options)
    const { results } = (await pool.run(t.nestedMap(40, 2))) as unknown as Nested
    expect(results.map((r) => r.square)).toEqual(Array.from({ length: 40 }, (_, i) => i * i))
    if (name === 'thread') {
      const threads = await pool.broadcast(t.info())
      expect(threads).toHaveLength(2)
      // More than one thread took part, and none outside the pool.
      expect(new Set(results.map((r) => r.thread)).size).toBe(2)
    }
  })

  it('does not deadlock when every worker runs a task that fans out', async () => {
    const pool = await start(options)
    const parents = Array.from({ length: pool.nodes * 2 }, () => t.nestedMap(20, 1))
    const all = (await pool.run(gather(...parents))) as unknown as Nested[]
    const threadsSeen = new Set(all.flatMap((a) => [a.parentThread, ...a.results.map((r) => r.thread)]))
    expect(all.every((a) => a.results.length === 20)).toBe(true)
    expect(threadsSeen.size).toBeLessThanOrEqual(pool.nodes) // the pool's threads, and no others
  })
})
