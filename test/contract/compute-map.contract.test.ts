// compute.map(items, fn, options): parallelMap on this pool, on every backend.
import { describe, expect, it } from 'vitest'
import type { Compute } from 'spindle'
import { BACKENDS, tasks as t, usePools } from '../helpers/pools.js'

describe.each(BACKENDS)('compute.map on $name', ({ options }) => {
  const start = usePools()
  let pool: Compute
  const open = async () => (pool = await start(options))

  it('maps in input order on this pool, with a remote function or a self-contained one', async () => {
    await open()
    expect(await pool.map([1, 2, 3, 4], t.square)).toEqual([1, 4, 9, 16])
    expect(await pool.map([1, 2, 3], (x: number, i: number) => x * 10 + i)).toEqual([10, 21, 32])
    const jobs = await pool.map([0, 1, 2, 3], t.info, { chunkSize: 1 })
    expect(new Set(jobs.map((info) => info.jobId))).toEqual(new Set([pool.jobId]))
  })

  it("takes parallelMap's options: settled, stopOnError, typed arrays", async () => {
    await open()
    // failOn(item, index) throws where the item equals its index.
    const settled = await pool.map([5, 1, 7], t.failOn, { settled: true })
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const failures = await pool.map([5, 1, 2], t.failOn, { stopOnError: false }).catch((e: AggregateError) => e.errors.map((m: { index: number }) => m.index))
    expect(failures).toEqual([1, 2])
    expect(await pool.map(new Float64Array([1, 2]), (x: number) => x / 2)).toEqual(new Float64Array([0.5, 1]))
  })

  it('refuses a pool of its own and options that are not an object', async () => {
    await open()
    await expect(pool.map([1], (x: number) => x, { workers: 2 } as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining('takes no `workers`') })
    await expect(pool.map([1], (x: number) => x, { compute: pool } as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    await expect(pool.map([1], (x: number) => x, 3 as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
  })
})
