// A stopped call never kills a node: whatever sequence of deadlines and aborts stops
// never-yielding calls on a node, every later call there settles and no stopped loop runs on;
// and a call sent to a node behind a running one, then aborted or closed before it started,
// never runs and never stops the running one. Every backend that can stop running code (the
// inline backend runs tasks on the caller's thread). Tasks count their own runs in files.
import { statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { RunOptions } from 'spindle'
import { BACKENDS, tasks as t, usePools, useProbes } from '../helpers/pools.js'

/**
 * A deadline; an abort once the loop runs; an abort `ms` after the call is sent (after a stop,
 * its node's replacement worker may still be starting then).
 */
type Stop = 'timeout' | 'signal' | number

/** Bytes a spinCountingFile loop has written (one per ms it ran). */
const size = (file: string) => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

/** `promise`, or a rejection saying what never settled once `ms` have passed (a wide window). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} never settled`)), ms)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

describe.each(BACKENDS.filter((b) => b.name !== 'inline'))('stopped calls on $name', ({ options }) => {
  const start = usePools()
  const probe = useProbes()

  /** Runs a never-yielding loop on node 0, stopped by `how`. */
  async function stopLoop(pool: Awaited<ReturnType<typeof start>>, how: Stop, file: string): Promise<void> {
    const controller = new AbortController()
    const stop: RunOptions = how === 'timeout' ? { timeout: 400 } : { signal: controller.signal }
    const loop = pool.run(t.spinCountingFile(file), { ...stop, node: 0 })
    if (how === 'signal') {
      while (size(file) === 0) await new Promise((resolve) => setTimeout(resolve, 5)) // polling, not an oracle
    }
    if (how !== 'timeout') {
      await new Promise((resolve) => setImmediate(resolve))
      if (typeof how === 'number') await new Promise((resolve) => setTimeout(resolve, how))
      controller.abort(new Error('stopped by its signal'))
    }
    await expect(within(loop, 30_000, `the ${how} of a loop`)).rejects.toMatchObject(
      how === 'timeout' ? { code: 'ERR_SPINDLE_TIMEOUT' } : { message: 'stopped by its signal' },
    )
  }

  it.each<Stop[]>([
    ['timeout', 'timeout', 'timeout'],
    ['signal', 0, 'signal'],
    ['timeout', 0, 'timeout'],
    ['signal', 20, 60, 120],
    [0, 'signal', 0],
  ])('loops stopped by %s, %s, %s… in a row (a number: an abort that many ms after sending) leave the node usable, with no loop running on', async (...stops) => {
    const pool = await start(options)
    await pool.broadcast(t.noop())
    const files = stops.map((_, i) => probe.path(`loop-${i}`))
    for (let i = 0; i < stops.length; i++) await stopLoop(pool, stops[i]!, files[i]!)
    expect(await within(pool.run(t.add(1, 2), { node: 0 }), 30_000, 'a call after the stopped loops')).toBe(3)
    const written = files.map(size)
    // A window for a stopped loop to show itself: each one still running would write ~100 bytes.
    await within(pool.run(t.delayedEcho(0, 100), { node: 0 }), 30_000, 'a call after the stopped loops')
    expect(files.map(size), 'bytes written by each loop, before and after the window').toEqual(written)
    expect(await pool.run(t.add(2, 2), { node: 0, timeout: 30_000 })).toBe(4)
  })

  /** A call blocking node 0's thread (until `go`), and a call sent behind it there. */
  async function holdAndQueue(pool: Awaited<ReturnType<typeof start>>, signal?: AbortSignal) {
    const held = pool.run(t.holdSyncUntilFile(probe.path('started'), probe.path('go'), probe.path('held')), { node: 0 })
    await probe.started('started', 1)
    const queued = pool.run(t.countRunFile(probe.path('queued')), { node: 0, signal })
    await new Promise((resolve) => setImmediate(resolve)) // sent
    return { held, queued }
  }

  it('aborting a call sent behind a running one never runs it, and leaves the running call alone', async () => {
    const pool = await start(options)
    await pool.broadcast(t.noop())
    const controller = new AbortController()
    const { held, queued } = await holdAndQueue(pool, controller.signal)
    controller.abort(new Error('not wanted'))
    await expect(queued).rejects.toThrow('not wanted')
    // The abort is seen at once; on a process or SSH node the take-back is a message to the
    // agent, which the held thread must not outrun. A call to node 0 is sent only once the
    // node has given the aborted batch's slot back: then release the held call.
    const after = pool.run(t.add(1, 1), { node: 0 })
    while (pool.stats().queued > 0) await new Promise((resolve) => setTimeout(resolve, 5)) // polling, not an oracle
    probe.release('go')
    expect(await held).toBe('released')
    expect(await after).toBe(2)
    expect(probe.runs('held'), 'the running call ran once: its thread was not stopped').toBe(1)
    expect(probe.runs('queued'), 'the aborted call never ran').toBe(0)
  })

  it('close() rejects a call sent behind a running one with ERR_SPINDLE_CLOSED, and lets the running one finish', async () => {
    const pool = await start({ ...options, closeTimeout: 20_000 })
    await pool.broadcast(t.noop())
    const { held, queued } = await holdAndQueue(pool)
    const closed = pool.close()
    await expect(queued).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    probe.release('go')
    expect(await held).toBe('released')
    await closed
    expect(probe.runs('queued'), 'the call rejected by close() never ran').toBe(0)
  })
})
