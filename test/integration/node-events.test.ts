// Node events and stats where a backend differs: a thread stopped at a call's deadline is lost
// as 'stopped' and replaced; `events.once()` on a real pool; a process node's utilization is
// shared over its `workersPerNode` threads.
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { TimeoutError, type NodeEvent } from 'spindle'
import { tasks as t, usePools } from '../helpers/pools.js'

describe('node events and stats, per backend', () => {
  const start = usePools()

  it('thread: a call stopped at its deadline loses its worker as stopped, and the node is replaced', async () => {
    const pool = await start({ workers: 1 })
    await pool.run(t.noop()) // the first worker is up (its `up` may still be on its way)
    const seen: NodeEvent[] = []
    const replaced = new Promise<void>((resolve) =>
      pool.on('node', (event) => {
        if (event.type === 'up') return
        seen.push(event)
        if (event.type === 'replaced') resolve()
      }),
    )
    await expect(pool.run(t.loopForever(), { timeout: 100 })).rejects.toBeInstanceOf(TimeoutError)
    await replaced
    expect(seen).toMatchObject([
      { type: 'lost', node: 0, backend: 'thread', reason: 'stopped', next: 'replace', cause: { message: 'Worker 0 (thread) was stopped to end a call (its deadline passed, or it was cancelled)' } },
      { type: 'replaced', node: 0, backend: 'thread' },
    ])
    expect(await pool.run(t.add(1, 1))).toBe(2)
    expect(pool.stats().nodes[0]).toMatchObject({ state: 'up', lost: 1 })
  })

  it('thread: events.once() waits for a node event, as with any EventEmitter', async () => {
    const pool = await start({ workers: 1 })
    const [event] = (await once(pool, 'node')) as [NodeEvent]
    expect(event).toEqual({ type: 'up', node: 0, backend: 'thread' })
    expect(pool.stats().nodes[0]!.state).toBe('up')
  })

  it('process: utilization is busy time over the time of all the node\'s threads', async () => {
    const pool = await start({ backend: 'process', workers: 1, workersPerNode: 2 })
    expect(await Promise.all([pool.run(t.spin(50)), pool.run(t.spin(50))])).toEqual([50, 50])
    const stats = pool.stats()
    const [node] = stats.nodes
    expect(node!.busy).toBeGreaterThanOrEqual(2 * 50)
    expect(node!.utilization).toBeCloseTo(node!.busy / (stats.elapsed * 2), 6)
  })
})
