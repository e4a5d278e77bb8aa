// piscina's own test suite (test/*.ts in piscinajs/piscina), ported to spindle's thread backend:
// what someone coming from piscina relies on. Each case names the piscina test it came from.
//
// No counterpart in spindle, so not ported:
// - simple-test "Piscina is exposed on export / on itself / isWorkerThread", "instance is an
//   EventEmitter", "constructor options are correctly set": spindle has no pool class to inspect
//   (Compute.start() resolves a pool; instanceInfo() tells a task where it runs).
// - simple-test "eval() handler", "filename can be provided while posting / null": tasks are the
//   exports of a module named once, by remote(url); there is no code-string handler.
// - simple-test "passing argv", "workerData": no per-worker argv or data; values travel as arguments
//   or parallelMap's `context`.
// - "duration and utilization calculations", histogram.ts: no pool statistics yet (issue 17).
// - idle-timeout.ts, thread-count.ts minThreads: spindle keeps a fixed set of nodes (an idle
//   pool never keeps the process alive instead: test/integration/lifecycle.test.ts).
// - move-test.ts, test-is-buffer-transferred.ts: no transferList; a SharedArrayBuffer is shared
//   (below), anything else is copied.
// - fixed-queue.ts, task-queue.ts (custom queues, maxQueue): the dispatcher's queue is internal.
// - atomics-optimization.ts, nice.ts, async-context.ts, messages.ts, post-task.ts: piscina internals.
// - test-resourcelimits.ts "resourceLimits causes task to reject": kept in
//   test/integration/thread-faults.test.ts ("a task that exceeds resourceLimits rejects"), which runs it
//   in a child process because of a Node 20 abort at a worker's heap limit.
import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { Compute, remote } from 'spindle'
import type * as Peer from '../fixtures/peer-tasks.mjs'
import { cells, tasks as t, usePools } from '../helpers/pools.js'

const p = remote<typeof Peer>(new URL('../fixtures/peer-tasks.mjs', import.meta.url))

/** Waits (without blocking the event loop) until `view[slot]` is at least `value`. */
async function until(view: Int32Array, slot: number, value: number): Promise<void> {
  while (Atomics.load(view, slot) < value) await new Promise((resolve) => setTimeout(resolve, 1))
}
const wake = (view: Int32Array, slot: number) => (Atomics.store(view, slot, 1), Atomics.notify(view, slot))

describe('piscina: abort-task.ts', () => {
  const start = usePools()

  it('tasks can be aborted through AbortController while running', async () => {
    const pool = await start({ workers: 1 })
    const view = new Int32Array(new SharedArrayBuffer(8))
    const controller = new AbortController()
    const running = pool.run(p.notifyThenSleep(view.buffer), { signal: controller.signal })
    await until(view, 0, 1)
    controller.abort()
    await expect(running).rejects.toMatchObject({ name: 'AbortError' })
    expect(await pool.run(t.add(1, 2))).toBe(3) // and the pool goes on
  })

  it('tasks can be aborted through EventEmitter: spindle takes only an AbortSignal, and says so', async () => {
    const pool = await start({ workers: 1 })
    const { EventEmitter } = await import('node:events')
    await expect(pool.run(t.add(1, 2), { signal: new EventEmitter() as never })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_INVALID_OPTION',
      message: expect.stringContaining('Expected `signal` to be an AbortSignal'),
    })
  })

  it('tasks can be aborted before running: the aborted call never runs, the running one completes', async () => {
    const pool = await start({ workers: 1 })
    const view = new Int32Array(new SharedArrayBuffer(12))
    const counts = new Int32Array(new SharedArrayBuffer(4))
    const first = pool.run(p.waitForNotify(view.buffer))
    await until(view, 0, 1)
    const controller = new AbortController()
    const queued = pool.run(p.counted(counts.buffer, 0, 'ran'), { signal: controller.signal })
    controller.abort(new Error('not wanted'))
    await expect(queued).rejects.toThrow('not wanted')
    wake(view, 1)
    expect(await first).toBe('notified')
    expect(await pool.run(t.add(1, 1))).toBe(2)
    expect(Atomics.load(counts, 0)).toBe(0)
    expect(Atomics.load(view, 0)).toBe(1) // the first call ran once: aborting the other did not stop it
  })

  it('abortable tasks will not share workers (abortable posted first): aborting a runaway call keeps the next one', async () => {
    const pool = await start({ workers: 1 })
    const controller = new AbortController()
    const runaway = pool.run(t.loopForever(), { signal: controller.signal })
    const next = pool.run(t.add(40, 2))
    controller.abort()
    await expect(runaway).rejects.toMatchObject({ name: 'AbortError' })
    expect(await next).toBe(42)
  })

  it('abortable tasks will not share workers (on worker available): results keep their order', async () => {
    const pool = await start({ workers: 1 })
    const out = await Promise.all([pool.run(p.sleep(20, 0)), pool.run(p.sleep(60, 1)), pool.run(p.sleep(20, 2), { signal: new AbortController().signal })])
    expect(out).toEqual([0, 1, 2])
  })

  it('aborted AbortSignal rejects task immediately (with reason), and nothing runs', async () => {
    const pool = await start({ workers: 1 })
    const counts = new Int32Array(new SharedArrayBuffer(4))
    const reason = new Error('already aborted')
    await expect(pool.run(p.counted(counts.buffer, 0, 1), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    await expect(pool.run(p.counted(counts.buffer, 0, 1), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(await pool.run(t.add(1, 1))).toBe(2)
    expect(Atomics.load(counts, 0)).toBe(0)
  })

  it('task with AbortSignal cleans up properly: no listener stays on the signal', async () => {
    const pool = await start({ workers: 1 })
    const controller = new AbortController()
    await pool.run(t.add(1, 2), { signal: controller.signal })
    await expect(pool.run(t.fail('x'), { signal: controller.signal })).rejects.toThrow('x')
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('tasks can be aborted through AbortController while running (with reason)', async () => {
    const pool = await start({ workers: 1 })
    const view = new Int32Array(new SharedArrayBuffer(8))
    const controller = new AbortController()
    const running = pool.run(p.notifyThenSleep(view.buffer), { signal: controller.signal })
    await until(view, 0, 1)
    const reason = new Error('custom reason')
    controller.abort(reason)
    await expect(running).rejects.toBe(reason)
  })
})

describe('piscina: pool-close.ts and pool-destroy.ts', () => {
  const start = usePools()

  it('close() with no pending tasks resolves, and close() twice is the same close', async () => {
    const pool = await start({ workers: 2 })
    expect(await pool.run(t.add(1, 1))).toBe(2)
    const closing = pool.close()
    expect(pool.close()).toBe(closing)
    await closing
  })

  it('queued tasks waits for all tasks already running and aborts tasks that are not started yet', async () => {
    const pool = await start({ workers: 1 })
    const view = new Int32Array(new SharedArrayBuffer(12))
    const counts = new Int32Array(new SharedArrayBuffer(4))
    const running = pool.run(p.waitForNotify(view.buffer))
    await until(view, 0, 1)
    // piscina's close() runs queued tasks too; spindle's rejects what has not started (documented).
    const queued = [pool.run(p.counted(counts.buffer, 0, 'a')), pool.run(p.counted(counts.buffer, 0, 'b'))].map((call) => call.catch((e: unknown) => e))
    await new Promise((resolve) => setTimeout(resolve, 10)) // let them reach the node
    const closing = pool.close()
    for (const call of queued) expect(await call).toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    wake(view, 1)
    expect(await running).toBe('notified')
    await closing
    expect(Atomics.load(counts, 0)).toBe(0)
  })

  it('abort any task enqueued during closing up', async () => {
    const pool = await start({ workers: 1 })
    const closing = pool.close()
    await expect(pool.run(t.add(1, 2))).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    await closing
  })

  it('timed out close operation destroys the pool (can destroy pool while tasks are running)', async () => {
    const pool = await Compute.start({ workers: 1, closeTimeout: 50 })
    const runaway = pool.run(t.loopForever()).catch((e: unknown) => e) // handled now: they settle during close()
    const c = cells()
    const held = pool.run(t.holdUntilReleased(c.buffer, 1)).catch((e: unknown) => e) // queued behind the loop
    await new Promise((resolve) => setTimeout(resolve, 20))
    await pool.close()
    expect(await runaway).toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    expect(await held).toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
  })
})

describe('piscina: test-uncaught-exception-from-handler.ts', () => {
  const start = usePools()

  it('uncaught exception resets Worker', async () => {
    const pool = await start({ workers: 1 })
    const before = await pool.run(p.whichThread())
    await expect(pool.run(t.throwLaterWhileRunning())).rejects.toMatchObject({ code: 'ERR_SPINDLE_WORKER_EXIT', message: expect.stringContaining('thrown by a timer while running') })
    expect(await pool.run(p.whichThread())).not.toBe(before)
  })

  it('uncaught exception in immediate resets Worker', async () => {
    const pool = await start({ workers: 1 })
    await expect(pool.run(p.throwInImmediateWhileRunning())).rejects.toMatchObject({ code: 'ERR_SPINDLE_WORKER_EXIT', message: expect.stringContaining('thrown from an immediate') })
    expect(await pool.run(t.add(1, 1))).toBe(2)
  })

  it('uncaught exception in immediate after task: the finished call keeps its result, a warning names it', async () => {
    const pool = await start({ workers: 1 })
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    expect(await pool.run(p.throwInImmediateAfterReturn())).toBe('returned')
    expect((await warned).message).toMatch(/throwInImmediateAfterReturn \(peer-tasks\.mjs\) had already finished .*leftover immediate error/)
    expect(await pool.run(t.add(1, 1))).toBe(2)
  })

  it('exiting process resets worker', async () => {
    const pool = await start({ workers: 1 })
    const before = await pool.run(p.whichThread())
    await expect(pool.run(t.exitNow(7))).rejects.toMatchObject({ code: 'ERR_SPINDLE_WORKER_EXIT', exitCode: 7 })
    expect(await pool.run(p.whichThread())).not.toBe(before)
  })

  it('exiting process in immediate after task: piscina errors the next task, spindle never blames it', async () => {
    const pool = await start({ workers: 1 })
    expect(await pool.run(p.exitInImmediateAfterReturn())).toBe('returned')
    expect(await pool.run(t.add(2, 2))).toBe(4)
    expect(await pool.run(t.add(3, 3))).toBe(6)
  })
})

describe('piscina: simple-test.ts and option-validation.ts', () => {
  const start = usePools()

  it('passing env to workers works', async () => {
    const pool = await start({ workers: 1, env: { SPINDLE_PEER: 'from env' } })
    expect(await pool.run(p.env('SPINDLE_PEER'))).toBe('from env')
  })

  it('passing execArgv to workers works', async () => {
    const pool = await start({ workers: 1, execArgv: ['--no-warnings'] })
    expect(await pool.run(p.execArgv())).toEqual(['--no-warnings'])
  })

  it('filename can be a file:// URL (string or URL) to an ESM module; named tasks work', async () => {
    const pool = await start({ workers: 1 })
    const byHref = remote<typeof Peer>(new URL('../fixtures/peer-tasks.mjs', import.meta.url).href)
    expect(await pool.run(byHref.sleep(1, 'named'))).toBe('named')
    expect(await pool.run(p.sleep(1, 'url'))).toBe('url')
  })

  it('filename must be provided: a missing export or a module that is not there fails its call with a clear error', async () => {
    const pool = await start({ workers: 1 })
    const missing = remote<{ nope(): number }>(new URL('../fixtures/peer-tasks.mjs', import.meta.url))
    await expect(pool.run(missing.nope())).rejects.toMatchObject({ code: 'ERR_SPINDLE_MISSING_EXPORT', message: expect.stringContaining('nope') })
    const nowhere = remote<{ f(): number }>(new URL('../fixtures/no-such-module.mjs', import.meta.url))
    await expect(pool.run(nowhere.f())).rejects.toThrow(/no-such-module\.mjs/)
    expect(await pool.run(t.add(1, 1))).toBe(2)
  })

  it('sharing memory: a SharedArrayBuffer reaches the worker as the same memory', async () => {
    const pool = await start({ workers: 1 })
    const values = new Float64Array(new SharedArrayBuffer(3 * 8))
    values.set([1, 2, 3.5])
    expect(await pool.run(p.sharedSum(values.buffer))).toBe(6.5)
  })

  it('option-validation: bad pool options are refused with a code and what was given', async () => {
    const refused = (options: object) => Compute.start(options as never).then(() => 'started', (e: { code: string; message: string }) => e)
    expect(await refused({ workers: -1 })).toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION', message: 'Expected `workers` to be an integer >= 1, got `-1` (number)' })
    expect(await refused({ workers: 'four' })).toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    expect(await refused({ closeTimeout: -5 })).toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    expect(await refused({ maxThreads: 2 })).toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining('Did you mean "workers"?') })
  })
})
