// Typed-array maps on threads, where workers claim blocks of shared memory: an abort stops the
// claiming and the map rejects at once, even while every worker is busy in a block; the
// calling thread never waits on a block it has not staged yet; an array of numbers taking the
// same road fails only the item whose result cannot travel.
import { describe, expect, it } from 'vitest'
import { parallelMap } from 'spindle'
import { cells, tasks as t, usePools } from '../helpers/pools.js'

describe('typed-array maps on threads', () => {
  const start = usePools()

  it('rejects with the reason at once when aborted while every worker is in a block, and the pool goes on', async () => {
    const compute = await start({ workers: 2 })
    const gate = cells(2) // [0]: released, [1]: items that started
    const controller = new AbortController()
    // The function runs on the workers with `shared` from `context`; declared here for TypeScript.
    const shared = gate.buffer
    const input = Float64Array.from({ length: 100_000 }, (_, i) => i)
    // A chunk size given keeps every item on the workers ('auto' has the calling thread take
    // blocks too, and it would wait in an item for a release that only it can give).
    const map = parallelMap(input, (x: number) => {
      const view = new Int32Array(shared)
      Atomics.add(view, 1, 1)
      while (Atomics.load(view, 0) === 0) Atomics.wait(view, 0, 0, 50)
      return x
    }, { compute, context: { shared: gate.buffer }, signal: controller.signal, chunkSize: 1024 })
    await gate.until(1, 2) // both workers are inside an item
    controller.abort(new Error('enough'))
    await expect(map).rejects.toThrow('enough')
    gate.release()
    await compute.run(t.noop()) // the workers have let go of the map
    expect(Atomics.load(gate.view, 1), "items run").toBeLessThan(10_000) // a block or so per worker, not the rest of the map
    expect(await compute.run(t.add(1, 2))).toBe(3)
  })

  it('an array of numbers mapped through shared memory: a result clone refuses past the quick check fails its item alone', async () => {
    const compute = await start({ workers: 2 })
    const items = Array.from({ length: 400 }, (_, i) => i)
    // ~50 µs an item: the probe sends the map to the workers, as blocks of shared memory.
    const settled = await parallelMap(items, (x: number) => {
      const end = performance.now() + 0.05
      while (performance.now() < end);
      return x === 321 ? Object.assign([x], { f: () => x }) : x
    }, { compute, settled: true })
    expect(settled[321]).toMatchObject({ status: 'rejected', reason: { index: 321, cause: { code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'result.f' } } })
    expect(settled.filter((s, i) => i !== 321 && !(s.status === 'fulfilled' && s.value === i))).toEqual([])
  })

  it('maps a SharedArrayBuffer-backed input in place of staging, with each result once', async () => {
    const compute = await start({ workers: 2 })
    const input = new Int32Array(new SharedArrayBuffer(4 * 300_000))
    for (let i = 0; i < input.length; i++) input[i] = i
    const out = await parallelMap(input, (x: number) => x - 7, { compute, chunkSize: 1000 })
    expect(out).toBeInstanceOf(Int32Array)
    expect(out.every((x, i) => x === i - 7)).toBe(true)
    expect(input[299_999]).toBe(299_999)
  })
})
