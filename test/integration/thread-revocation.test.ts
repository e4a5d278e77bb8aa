// Batches sent ahead on real worker threads: a batch waiting in a worker's port behind another
// is taken back before it starts (for an idle worker, an abort, close, a dead worker), and then
// it never runs there. Handshakes through shared memory; every count is taken inside the tasks.
import { describe, expect, it } from 'vitest'
import { WorkerExitError } from 'spindle'
import { cells, tasks as t, usePools } from '../helpers/pools.js'

/** Whether every promise settles within `ms` (a wide window: a failure, not a measure). */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)))
  const settled = Promise.allSettled(promises).then(() => true)
  try {
    return await Promise.race([settled, late])
  } finally {
    clearTimeout(timer)
  }
}

describe('thread batches sent ahead', () => {
  const start = usePools()

  it('a call sent behind a held call moves to the worker that runs out of work', async () => {
    const pool = await start({ workers: 2 })
    const c = cells()
    const held = pool.run(t.holdUntilReleased(c.buffer, 1))
    await c.until(1, 1) // on worker 0
    // Costs unknown, so one call per batch: worker 1 takes the first and third, worker 0 the
    // second, behind the held call, until worker 1 is idle and takes it back.
    const quick = [2, 3, 4].map((slot) => pool.run(t.countRuns({ buffer: c.buffer, i: slot })))
    const done = await settleWithin(quick, 20_000)
    c.release()
    expect(done, 'the quick calls all ended while worker 0 was held').toBe(true)
    expect(await Promise.all(quick)).toEqual([2, 3, 4])
    expect(await held).toBe(1)
    expect([...c.view.slice(1, 5)], 'each call ran once').toEqual([1, 1, 1, 1])
  })

  it('aborting a call that has not started never runs it, and leaves the running call alone', async () => {
    const pool = await start({ workers: 1 })
    const c = cells()
    const held = pool.run(t.holdUntilReleased(c.buffer, 1))
    await c.until(1, 1)
    const controller = new AbortController()
    const queued = pool.run(t.countRuns({ buffer: c.buffer, i: 2 }), { signal: controller.signal }) // waits in the worker's port
    await new Promise((resolve) => setImmediate(resolve)) // sent
    controller.abort(new Error('not wanted'))
    await expect(queued).rejects.toThrow('not wanted')
    c.release()
    expect(await held).toBe(1)
    expect(await pool.run(t.add(1, 1))).toBe(2)
    expect(Atomics.load(c.view, 1), 'the held call ran once: its worker was not stopped').toBe(1)
    expect(Atomics.load(c.view, 2), 'the aborted call never ran').toBe(0)
  })

  it('close() rejects a call that has not started with ERR_SPINDLE_CLOSED, and lets the running one finish', async () => {
    const pool = await start({ workers: 1, closeTimeout: 30_000 })
    const c = cells()
    const held = pool.run(t.holdUntilReleased(c.buffer, 1))
    await c.until(1, 1)
    const queued = pool.run(t.countRuns({ buffer: c.buffer, i: 2 }))
    await new Promise((resolve) => setImmediate(resolve)) // sent
    const closed = pool.close()
    c.release()
    const [queuedOutcome, heldOutcome] = await Promise.allSettled([queued, held, closed])
    expect(queuedOutcome).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SPINDLE_CLOSED' } })
    expect(heldOutcome).toEqual({ status: 'fulfilled', value: 1 })
    expect(Atomics.load(c.view, 2), 'the queued call never ran').toBe(0)
  })

  it('a call that had not started when its worker died runs on the replacement without using a retry', async () => {
    const pool = await start({ workers: 1, interruptionRetries: 0 })
    const c = cells()
    const dying = pool.run(t.holdThenExit(c.buffer, 1))
    await c.until(1, 1)
    const queued = pool.run(t.countRuns({ buffer: c.buffer, i: 2 }))
    await new Promise((resolve) => setImmediate(resolve)) // sent, behind the call that will exit
    c.release()
    await expect(dying).rejects.toBeInstanceOf(WorkerExitError)
    expect(await queued).toBe(2)
    expect(Atomics.load(c.view, 2)).toBe(1)
  })
})
