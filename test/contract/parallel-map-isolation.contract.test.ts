// parallelMap runs items where compute.run runs them, on every backend: deadlines stop them, an
// exit ends only a worker, instanceInfo() works, an abort is seen at once, every failure is a
// MapItemError by index. The calling thread runs items only with `callerRuns`, and never then
// for a deadline, an async function or a pool in other processes.
import { describe, expect, it } from 'vitest'
import { InvalidOptionError, MapItemError, parallelMap, TimeoutError, WorkerExitError, type Compute } from 'spindle'
import { BACKENDS, tasks as t, usePools } from '../helpers/pools.js'

/** Where an item ran: `caller` when this test's thread ran it (the mark is set only here). */
const where = (x: number) => ((globalThis as { __mapCallerMark?: boolean }).__mapCallerMark === true ? `caller ${x}` : `worker ${x}`)
/** A sleep that holds its thread without using a core: timings stay honest on a loaded machine. */
const sleep = (ms: number) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
  return ms
}
/** Ran on the caller: how many of `out` (results of `where`). */
const onCaller = (out: readonly string[]) => out.filter((s) => s.startsWith('caller')).length

describe.each(BACKENDS)('parallelMap isolation on $name', ({ name, options }) => {
  const start = usePools()
  let compute: Compute
  const open = async () => (compute = await start(options))
  ;(globalThis as { __mapCallerMark?: boolean }).__mapCallerMark = true
  const isolated = name !== 'inline' // the inline backend is this thread, by design

  it('runs every item on the pool by default, cheap or not, array or iterable', async () => {
    await open()
    const items = Array.from({ length: 20_000 }, (_, i) => i)
    const out = await parallelMap(items, where, { compute })
    expect(out[19_999]).toMatch(/ 19999$/)
    if (isolated) expect(onCaller(out), 'items run on the calling thread').toBe(0)
    if (isolated) expect(onCaller(await parallelMap(new Set(items.slice(0, 500)), where, { compute }))).toBe(0)
  })

  it('instanceInfo() works inside every item', async () => {
    await open()
    const infos = await parallelMap([0, 1, 2, 3, 4], t.info, { compute })
    expect(infos.map((info) => info.backend)).toEqual(Array(5).fill(name))
  })

  it('every failure is a MapItemError with its index, the first item\'s too, settled and stopOnError: false included', async () => {
    await open()
    const zeroFails = (x: number) => {
      if (x === 0) throw new RangeError('zero')
      return x
    }
    const settled = await parallelMap([0, 1, 2], zeroFails, { compute, settled: true })
    expect(settled[0]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SPINDLE_MAP_ITEM', index: 0 } })
    expect(settled.slice(1)).toEqual([{ status: 'fulfilled', value: 1 }, { status: 'fulfilled', value: 2 }])
    const all = (await parallelMap([0, 1, 2], zeroFails, { compute, stopOnError: false }).catch((e: unknown) => e)) as AggregateError
    expect(all).toBeInstanceOf(AggregateError)
    expect(all.errors).toHaveLength(1)
    expect(all.errors[0]).toBeInstanceOf(MapItemError)
    expect(all.errors[0]).toMatchObject({ index: 0 })
    await expect(parallelMap([0, 1, 2], zeroFails, { compute })).rejects.toMatchObject({ code: 'ERR_SPINDLE_MAP_ITEM', index: 0 })
  })

  it('rejects a callerRuns that is not a boolean', async () => {
    await open()
    const error = await parallelMap([1], where, { compute, callerRuns: 'yes' as unknown as boolean }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as Error).message).toBe('Expected `callerRuns` to be a boolean, got `"yes"` (string)')
  })

  it('with callerRuns, never runs an item on the caller for a deadline, an async function, or a pool in other processes', async () => {
    await open()
    const items = Array.from({ length: 20_000 }, (_, i) => i)
    const timed = await parallelMap(items, where, { compute, callerRuns: true, timeout: 30_000 })
    const later = await parallelMap(items.slice(0, 2000), async (x: number) => ((globalThis as { __mapCallerMark?: boolean }).__mapCallerMark === true ? `caller ${x}` : `worker ${x}`), { compute, callerRuns: true })
    if (isolated) {
      expect(onCaller(timed), 'items with a deadline on the caller').toBe(0)
      expect(onCaller(later), 'async items on the caller').toBe(0)
    }
    const cheap = await parallelMap(items, where, { compute, callerRuns: true })
    expect(cheap[123]).toMatch(/ 123$/)
    if (name !== 'thread' && isolated) expect(onCaller(cheap), 'items on the caller of a pool in other processes').toBe(0)
  })

  if (!isolated) return

  it('a timeout stops a runaway item, as it stops a call', async () => {
    await open()
    const began = performance.now()
    const error = await parallelMap([0, 1], t.loopForever, { compute, timeout: 300 }).catch((e: unknown) => e)
    const ms = performance.now() - began
    expect(error).toBeInstanceOf(MapItemError)
    expect((error as MapItemError).cause).toBeInstanceOf(TimeoutError)
    expect(ms, `rejected after ${ms.toFixed(0)} ms`).toBeLessThan(20_000)
    expect(await parallelMap([1, 2], t.square, { compute })).toEqual([1, 4])
  })

  it('process.exit() in an item ends only a worker: the item fails with a WorkerExitError, the pool goes on', async () => {
    await open()
    const out = await parallelMap([7, 7], t.exitNow, { compute, settled: true })
    for (const [i, item] of out.entries()) {
      expect(item).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SPINDLE_MAP_ITEM', index: i } })
      if (item.status === 'rejected') expect(item.reason.cause).toBeInstanceOf(WorkerExitError)
    }
    expect(await parallelMap([3, 4], t.square, { compute })).toEqual([9, 16])
  })

  it('an abort is seen at once, while the first items run', async () => {
    await open()
    const controller = new AbortController()
    const running = parallelMap([5000, 5000, 5000], sleep, { compute, signal: controller.signal })
    // Aborted on the next turn of this thread's event loop: with items on workers, that comes at once.
    const began = performance.now()
    setImmediate(() => controller.abort(new Error('stop now')))
    await expect(running).rejects.toThrow('stop now')
    const ms = performance.now() - began
    expect(ms, `rejected after ${ms.toFixed(0)} ms`).toBeLessThan(2500)
  })
})

describe('parallelMap timings on threads (2 workers)', () => {
  const start = usePools()

  it('async items go out together: [1000, 1000] ms takes ~1 s, not 2', async () => {
    const compute = await start({ workers: 2 })
    await parallelMap([1, 2], (x: number) => x, { compute }) // workers up and warm
    const began = performance.now()
    const out = await parallelMap([1000, 1000], async (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)), { compute })
    const ms = performance.now() - began
    expect(out).toEqual([1000, 1000])
    expect(ms, `took ${ms.toFixed(0)} ms`).toBeLessThan(1600)
  })

  it('3 items of 1 s take ~2 s and 8 items of 200 ms take ~800 ms', async () => {
    const compute = await start({ workers: 2 })
    await parallelMap([1, 2], (x: number) => x, { compute })
    const timed = async (items: number[]) => {
      const began = performance.now()
      expect(await parallelMap(items, sleep, { compute })).toEqual(items)
      return performance.now() - began
    }
    const three = await timed([1000, 1000, 1000])
    expect(three, `3 × 1 s took ${three.toFixed(0)} ms`).toBeLessThan(2600)
    const eight = await timed(Array(8).fill(200))
    expect(eight, `8 × 200 ms took ${eight.toFixed(0)} ms`).toBeLessThan(1000)
  })
})

describe('parallelMap with callerRuns on threads', () => {
  const start = usePools()

  it('runs items too cheap to send on the calling thread, and only when asked', async () => {
    const compute = await start({ workers: 2 })
    const items = Array.from({ length: 200_000 }, (_, i) => i)
    // How many stay here is the cost model's call (unit tests pin it): the probe's items at least.
    const asked = await parallelMap(items, where, { compute, callerRuns: true })
    expect(asked[199_999]).toMatch(/ 199999$/)
    expect(onCaller(asked)).toBeGreaterThan(0)
    expect(onCaller(await parallelMap(items, where, { compute }))).toBe(0)
    // A typed array: the calling thread keeps elements too cheap for a map on the workers (negated here).
    const mark = (x: number) => ((globalThis as { __mapCallerMark?: boolean }).__mapCallerMark === true ? -x : x)
    const typed = Float64Array.from({ length: 1_000_000 }, (_, i) => i + 1)
    const here = await parallelMap(typed, mark, { compute, callerRuns: true })
    expect(here.every((x, i) => Math.abs(x) === i + 1)).toBe(true)
    expect(here.filter((x) => x < 0).length).toBeGreaterThan(0)
    expect((await parallelMap(typed, mark, { compute })).some((x) => x < 0)).toBe(false)
  })
})
