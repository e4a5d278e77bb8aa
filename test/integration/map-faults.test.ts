// parallelMap when workers are lost under it, and when the program never closes the pool.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { MapItemError, parallelMap, WorkerExitError } from 'spindle'
import { tasks as t, usePools } from '../helpers/pools.js'

describe('parallelMap faults', () => {
  const start = usePools()

  it('a chunk interrupted by a lost worker runs again: no partial, no duplicated result', async () => {
    const compute = await start({ workers: 2 })
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    // Once the map runs, node 0 gets a call that leaves code behind which kills its worker as soon
    // as items of a chunk are in flight there (items wait, async, so the event loop turns
    // mid-chunk): that chunk is interrupted, not blamed, and its items, already started, run
    // again. ~100 chunks over 2 nodes: node 0 has chunks left after the first one has ended.
    const buffer = new SharedArrayBuffer(4 * 400)
    const items = Array.from({ length: 400 }, (_, i) => ({ buffer, i, ms: 5 }))
    let bomb: Promise<unknown> | undefined
    const out = await parallelMap(items, t.countedWait, {
      compute,
      chunkSize: 4,
      onProgress: () => void (bomb ??= compute.run(t.leaveBombForNextItems(), { node: 0 })),
    })
    await bomb
    expect(out).toEqual(items.map((item) => item.i * 10))
    expect((await warned).message).toContain('leaveBombForNextItems')
    const runs = [...new Int32Array(buffer)]
    expect(runs.every((n) => n === 1 || n === 2), `runs per item: ${runs.join(',')}`).toBe(true)
    expect(runs.some((n) => n === 2), `runs per item: ${runs.join(',')}`).toBe(true)
  })

  it('an exit under one item of a chunk fails that item alone: those before keep their results, those after run again', async () => {
    const compute = await start({ workers: 2 })
    const buffer = new SharedArrayBuffer(4 * 40)
    const items = Array.from({ length: 40 }, (_, i) => ({ buffer, i, crash: i === 17 }))
    // Chunks of 4: the chunk of items 16–19 loses its worker at item 17.
    const out = await parallelMap(items, t.countRuns, { compute, chunkSize: 4, settled: true })
    expect(out[17]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SPINDLE_MAP_ITEM', index: 17 } })
    if (out[17]!.status === 'rejected') expect(out[17]!.reason.cause).toBeInstanceOf(WorkerExitError)
    out.forEach((o, i) => i !== 17 && expect(o, `item ${i}`).toEqual({ status: 'fulfilled', value: i }))
    expect([...new Int32Array(buffer)], 'runs per item: none twice').toEqual(Array(40).fill(1))
    // A typed array with a deadline runs in chunks too; its results are in shared memory already.
    const typed = await parallelMap(Float64Array.from({ length: 40 }, (_, i) => i), (x: number) => {
      if (x === 17) process.exit(3)
      return x * 2
    }, { compute, chunkSize: 4, timeout: 10_000, settled: true })
    expect(typed.map((o) => o.status === 'rejected' ? (o.reason as MapItemError).index : -1).filter((i) => i >= 0)).toEqual([17])
    typed.forEach((o, i) => i !== 17 && expect(o, `item ${i}`).toEqual({ status: 'fulfilled', value: i * 2 }))
  })

  it('an exit inside a block of numbers fails that item alone: the others are right and run once, arrays of numbers and typed arrays alike', async () => {
    const compute = await start({ workers: 2 })
    // Cheap items: an array of numbers goes to the workers in blocks of shared memory after its
    // first items (one per worker), a typed array from the start: 40 items are one block there.
    // Every fourth item exits its worker; the cell of each item counts its runs.
    const exitsOn = (input: ArrayLike<number>, options: { chunkSize?: number; every: number; at: number }) => {
      const runs = new SharedArrayBuffer(4 * input.length)
      const { every, at } = options
      const map = parallelMap(input as number[], (x: number) => {
        Atomics.add(new Int32Array(runs), x, 1)
        if (x % every === at) process.exit(3)
        return x * 2
      }, { compute, settled: true, context: { runs, every, at }, ...(options.chunkSize !== undefined && { chunkSize: options.chunkSize }) })
      return { map, runs: () => [...new Int32Array(runs)] }
    }
    const cases = [
      { input: Array.from({ length: 40 }, (_, i) => i), every: 4, at: 1 },
      { input: Float64Array.from({ length: 40 }, (_, i) => i), every: 4, at: 1 },
      // Blocks of 500 on both workers: two of them lose their worker mid-block.
      { input: Float64Array.from({ length: 4000 }, (_, i) => i), chunkSize: 500, every: 1500, at: 750 },
    ]
    for (const { input, ...options } of cases) {
      const what = `${input.constructor.name} of ${input.length}`
      const { map, runs } = exitsOn(input, options)
      const out = await map
      const exiting = Array.from(input).filter((x) => x % options.every === options.at)
      const failed = out.flatMap((o, i) => (o.status === 'rejected' ? [i] : []))
      expect(failed, `${what}: failed items`).toEqual(exiting)
      for (const i of failed) {
        const o = out[i]!
        expect(o, `${what}: item ${i}`).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SPINDLE_MAP_ITEM', index: i } })
        if (o.status === 'rejected') expect(o.reason.cause, `${what}: item ${i}`).toBeInstanceOf(WorkerExitError)
      }
      expect(out.filter((o, i) => !failed.includes(i) && !(o.status === 'fulfilled' && o.value === i * 2)), `${what}: wrong results`).toEqual([])
      expect(runs().flatMap((n, i) => (n === 1 ? [] : [`${i}: ${n}`])), `${what}: items not run exactly once`).toEqual([])
    }
    // A result that is not a number travels with the worker's answer, lost with it: it runs again, still right.
    const mixed = await parallelMap(Array.from({ length: 40 }, (_, i) => i), (x: number) => {
      if (x === 30) process.exit(3)
      return x % 10 === 2 ? `s${x}` : x * 2
    }, { compute, settled: true })
    expect(mixed.flatMap((o, i) => (o.status === 'rejected' ? [i] : []))).toEqual([30])
    expect(mixed.filter((o, i) => i !== 30 && !(o.status === 'fulfilled' && o.value === (i % 10 === 2 ? `s${i}` : i * 2)))).toEqual([])
    // Without `settled`, the map rejects with the first exiting item's own error.
    const error = await parallelMap(Float64Array.from({ length: 40 }, (_, i) => i), (x: number) => {
      if (x === 9) process.exit(3)
      return x
    }, { compute }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MapItemError)
    expect(error).toMatchObject({ index: 9, cause: expect.any(WorkerExitError) })
    // A throw inside a block fails its item alone too, with its index.
    for (const input of [Array.from({ length: 40 }, (_, i) => i), Float64Array.from({ length: 40 }, (_, i) => i)]) {
      const thrown = await parallelMap(input as number[], (x: number) => {
        if (x % 4 === 1) throw new RangeError(`bad ${x}`)
        return x * 2
      }, { compute, settled: true })
      const failed = thrown.flatMap((o, i) => (o.status === 'rejected' ? [[i, o.reason.index, (o.reason.cause as Error).message]] : []))
      expect(failed).toEqual(Array.from({ length: 10 }, (_, k) => [4 * k + 1, 4 * k + 1, `bad ${4 * k + 1}`]))
      expect(thrown.filter((o, i) => i % 4 !== 1 && !(o.status === 'fulfilled' && o.value === i * 2))).toEqual([])
    }
    expect(await parallelMap([3, 4], t.square, { compute })).toEqual([9, 16])
  })

  it('a program that leaves iterate() early after a failure, then maps again, gets the task\'s errors and exits by itself', async () => {
    const run = promisify(execFile)
    const child = new URL('../fixtures/map-early-exit.mjs', import.meta.url).pathname
    // A failed chunk sent again at once reconnected its node, and the node then connected a
    // second time, leaving the first channel's port referenced: the program never exited.
    const { stdout } = await run(process.execPath, [child], { timeout: 30_000 })
    expect(JSON.parse(stdout)).toEqual(['parallelMap item 3 failed: Error: three', 'parallelMap item 3 failed: Error: three'])
  })

  it('a program that maps on the default pool and never closes it exits', async () => {
    const run = promisify(execFile)
    const child = new URL('../fixtures/lifecycle-child.mjs', import.meta.url).pathname
    const { stdout } = await run(process.execPath, [child, 'map-default-pool'], { timeout: 30_000 })
    expect(JSON.parse(stdout)).toEqual([0, 1, 4, 9, 16])
  })
})
