// compute.stats() and compute.on('node'), on every backend: counts after known work, the
// queue while a node is busy, utilization, a node lost under a call (lost, then replaced or up
// again; a Redis worker is not: others join instead), listeners that throw, and a closed pool.
import { describe, expect, it } from 'vitest'
import { remote, type Compute, type ComputeOptions, type NodeEvent, type NodeLostEvent } from 'spindle'
import { BACKENDS, tasks as t, usePools, useProbes } from '../helpers/pools.js'
import type * as LossTasks from '../fixtures/node-loss-tasks.mjs'

const loss = remote<typeof LossTasks>(new URL('../fixtures/node-loss-tasks.mjs', import.meta.url))

/** Node `node`'s first `lost` event from now on, and its next event after that (`count` 1: the lost one only). */
function lossAndAfter(pool: Compute, node: number, count = 2): Promise<NodeEvent[]> {
  const seen: NodeEvent[] = []
  return new Promise((resolve) => {
    pool.on('node', function record(event) {
      // Its first `up` may come before (thread and process nodes start after start() resolves).
      if (event.node !== node || (seen.length === 0 && event.type !== 'lost')) return
      seen.push(event)
      if (seen.length < count) return
      pool.off('node', record)
      resolve(seen)
    })
  })
}

describe.each(BACKENDS)('pool stats and node events on $name', ({ name, options }) => {
  const start = usePools()
  const probe = useProbes()

  it('counts calls by how they ended, and per node; utilization is in [0, 1]', async () => {
    const pool = await start(options)
    const calls = [...Array.from({ length: 200 }, (_, i) => t.echo(i)), t.fail('a'), t.fail('b'), t.spin(30)]
    const outcomes = await Promise.allSettled(calls.map((call) => pool.run(call)))
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(2)
    const stats = pool.stats()
    expect(stats).toMatchObject({ queued: 0, running: 0, completed: 201, failed: 2, closed: false })
    expect(stats.nodes).toHaveLength(pool.nodes)
    expect(stats.nodes.reduce((sum, node) => sum + node.calls, 0)).toBe(203)
    expect(stats.runTime?.count).toBe(203)
    expect(stats.waitTime?.count).toBe(203)
    expect(stats.runTime!.max).toBeGreaterThanOrEqual(30) // the spin, measured on its node
    expect(stats.runTime!.p50).toBeLessThanOrEqual(stats.runTime!.p90)
    expect(stats.runTime!.p90).toBeLessThanOrEqual(stats.runTime!.p99)
    expect(stats.nodes.reduce((sum, node) => sum + node.busy, 0)).toBeGreaterThanOrEqual(30)
    for (const node of stats.nodes) {
      expect(node.utilization).toBeGreaterThanOrEqual(0)
      expect(node.utilization).toBeLessThanOrEqual(1)
      expect(node.lost).toBe(0)
    }
    const spun = stats.nodes.find((node) => node.busy >= 30)!
    expect(spun.utilization, JSON.stringify(stats)).toBeGreaterThan(0)
  })

  it('counts the queue and the running calls while a node is busy', async () => {
    const pool = await start(options)
    const held = pool.run(t.holdUntilFile(probe.path('started'), probe.path('release')), { node: 0 })
    await probe.started('started', 1)
    const echoes = Array.from({ length: 5 }, (_, i) => pool.run(t.echo(i), { node: 0 }))
    // Submitted, not yet pumped (a microtask later): all five wait in the queue.
    expect(pool.stats()).toMatchObject({ queued: 5, running: 1, completed: 0, failed: 0 })
    probe.release('release')
    expect(await Promise.all([held, ...echoes])).toEqual(['released', 0, 1, 2, 3, 4])
    expect(pool.stats()).toMatchObject({ queued: 0, running: 0, completed: 6, failed: 0 })
    expect(pool.stats().waitTime!.max).toBeGreaterThan(0)
  })

  it.runIf(name !== 'inline')('a node lost under a call says lost, then replaced (or up again, or gone for good); listeners that throw are warnings', async () => {
    const pool = await start(name === 'ssh' ? ({ ...options, ssh: { reconnect: { attempts: 5, delay: 50 } } } as ComputeOptions) : options)
    const warnings: string[] = []
    let warned: () => void
    const bothWarned = new Promise<void>((resolve) => (warned = resolve))
    const onWarning = (warning: Error & { code?: string }) => {
      // Warnings come a tick after their event (process.emitWarning); the `up`s of start may come too.
      if (warning.code !== 'SPINDLE_LISTENER_ERROR' || !warning.message.includes("(event 'lost' of node 0)")) return
      warnings.push(warning.message)
      if (warnings.length === 2) warned()
    }
    process.on('warning', onWarning)
    try {
      pool.on('node', () => {
        throw new Error('listener bug')
      })
      pool.on('node', async () => Promise.reject(new Error('async listener bug')))
      const events = lossAndAfter(pool, 0, name === 'redis' ? 1 : 2)
      if (name === 'thread') {
        await expect(pool.run(loss.exitThread(3), { node: 0 })).rejects.toMatchObject({ code: 'ERR_SPINDLE_WORKER_EXIT', exitCode: 3 })
      } else if (name === 'redis') {
        // Pinned to a node that is gone for good: interrupted, with nowhere to run again.
        await expect(pool.run(loss.killOwnProcessOnce(probe.path('killed')), { node: 0 })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED' })
      } else {
        await pool.run(loss.killOwnProcessOnce(probe.path('killed')), { node: 0 }) // interrupted, then run again
      }
      const [lost, back] = (await events) as [NodeLostEvent, NodeEvent]
      expect(lost).toMatchObject({ type: 'lost', node: 0, backend: name })
      if (name === 'thread') {
        expect(lost).toMatchObject({ reason: 'crash', next: 'replace', exitCode: 3 })
        expect(lost.cause.message).toBe('Worker 0 (thread) exited with code 3')
        expect(back).toEqual({ type: 'replaced', node: 0, backend: 'thread' })
      } else if (name === 'process') {
        expect(lost).toMatchObject({ reason: 'crash', next: 'replace', signal: 'SIGKILL', pid: expect.any(Number) })
        expect(lost.cause.message).toMatch(/^Process 0: agent process \d+ was killed by SIGKILL/)
        expect(back).toMatchObject({ type: 'replaced', node: 0, pid: expect.any(Number) })
        expect(back.pid).not.toBe(lost.pid)
      } else if (name === 'redis') {
        // The worker process is gone with its heartbeat: the node is not replaced (another worker may join instead).
        expect(lost).toMatchObject({ reason: 'connection', next: 'none' })
        expect(lost.cause).toMatchObject({ code: 'ERR_SPINDLE_REDIS_WORKER_LOST' })
        expect(back).toBeUndefined()
      } else {
        expect(lost).toMatchObject({ reason: 'connection', next: 'reconnect', host: expect.stringContaining('127.0.0.1') })
        expect(lost.cause).toMatchObject({ code: 'ERR_SPINDLE_SSH_LOST' })
        expect(back).toMatchObject({ type: 'up', node: 0, host: lost.host })
      }
      await bothWarned // the listener that throws, and the one whose promise rejects
      expect(warnings.sort()).toEqual([
        "A 'node' event listener threw Error: async listener bug (event 'lost' of node 0). The pool goes on, and the other listeners were called; catch errors inside the listener.",
        "A 'node' event listener threw Error: listener bug (event 'lost' of node 0). The pool goes on, and the other listeners were called; catch errors inside the listener.",
      ])
      if (name === 'redis') {
        await expect(pool.run(t.add(2, 3), { node: 0 })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED' })
        expect(await pool.run(t.add(2, 3))).toBe(5)
        expect(pool.stats().nodes[0]).toMatchObject({ state: 'gone', lost: 1 })
      } else {
        expect(await pool.run(t.add(2, 3), { node: 0 })).toBe(5)
        expect(pool.stats().nodes[0]).toMatchObject({ state: 'up', lost: 1 })
      }
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('gives final stats on a closed pool, and no node events for nodes it closes', async () => {
    const pool = await start(options)
    const events: NodeEvent[] = []
    pool.on('node', (event) => events.push(event))
    await pool.run(t.add(1, 2))
    await pool.close()
    const late = pool.run(t.add(1, 2)) // refused: a failure
    await expect(late).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    const stats = pool.stats()
    expect(stats).toMatchObject({ closed: true, queued: 0, running: 0, completed: 1, failed: 1 })
    expect(stats.nodes.map((node) => node.state)).toEqual(Array.from({ length: pool.nodes }, () => 'closed'))
    await new Promise((resolve) => setImmediate(resolve)) // events are delivered a microtask after they happen
    expect(pool.stats().elapsed).toBe(stats.elapsed) // the clock stopped at close
    expect(events.filter((event) => event.type === 'lost')).toEqual([])
  })
})
