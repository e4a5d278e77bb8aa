// parallelMap's contract, on every backend.
import { describe, expect, it } from 'vitest'
import { MapItemError, parallelMap, type Compute } from 'spindle'
import { BACKENDS, tasks as t, usePools } from '../helpers/pools.js'

describe.each(BACKENDS)('parallelMap on $name', ({ options }) => {
  const start = usePools()
  let compute: Compute
  const open = async () => (compute = await start(options))

  it('keeps input order when the first item is the slowest', async () => {
    await open()
    const items = Array.from({ length: 20 }, (_, i) => i)
    expect(await parallelMap(items, t.slowFirst, { compute, chunkSize: 1 })).toEqual(items)
  })

  it('maps with a remote function and with a self-contained inline function', async () => {
    await open()
    const items = Array.from({ length: 500 }, (_, i) => i)
    expect(await parallelMap(items, t.square, { compute })).toEqual(items.map((x) => x * x))
    expect(await parallelMap(items, (x: number, i: number) => x + i, { compute, chunkSize: 7 })).toEqual(items.map((x) => 2 * x))
  })

  it('gives [] for no items and keeps duplicates', async () => {
    await open()
    expect(await parallelMap([], t.square, { compute })).toEqual([])
    expect(await parallelMap([3, 3, 3], t.square, { compute, chunkSize: 2 })).toEqual([9, 9, 9])
  })

  it('takes any iterable, async iterable, and typed arrays (a typed array comes back)', async () => {
    await open()
    expect(await parallelMap(new Set([1, 2, 3]), t.square, { compute })).toEqual([1, 4, 9])
    function* gen() {
      yield* [4, 5]
    }
    expect(await parallelMap(gen(), t.square, { compute })).toEqual([16, 25])
    async function* agen() {
      yield 6
      yield 7
    }
    expect(await parallelMap(agen(), t.square, { compute })).toEqual([36, 49])
    const none = await parallelMap(new Int16Array(0), (x: number) => x + 1, { compute })
    expect(none).toBeInstanceOf(Int16Array)
    expect(none).toHaveLength(0)
    const typed = await parallelMap(new Float64Array([1, 2, 3, 4]), (x: number) => x / 2, { compute, chunkSize: 3 })
    expect(typed).toBeInstanceOf(Float64Array)
    expect([...typed]).toEqual([0.5, 1, 1.5, 2])
  })

  it('gives each typed-array map its own result, leaving the input as it was', async () => {
    await open()
    const input = Int32Array.from({ length: 5000 }, (_, i) => i)
    const sharedInput = new Int32Array(new SharedArrayBuffer(5000 * 4))
    sharedInput.set(input)
    const first = await parallelMap(input, t.square, { compute })
    const second = await parallelMap(sharedInput, (x: number) => 1 - x, { compute, chunkSize: 700 })
    // The memory the input is staged in is reused from map to map: an earlier result must not change.
    expect(first).toBeInstanceOf(Int32Array)
    expect([...first]).toEqual([...input].map((x) => x * x))
    expect([...second]).toEqual([...input].map((x) => 1 - x))
    expect([...input]).toEqual([...sharedInput])
    expect(input[4999]).toBe(4999)
    // Outputs of a megabyte or more are prepared ahead on thread pools: still one per map.
    const big = Float64Array.from({ length: 300_000 }, (_, i) => i)
    const results = []
    for (const k of [2, 3, 4]) {
      results.push(await parallelMap(big, (x: number) => x * k, { compute, context: { k } }))
      await compute.run(t.noop()) // a moment for the pool to touch the next output's pages
    }
    results.forEach((out, i) => expect(out.every((x, j) => x === j * (i + 2)), `map ${i}`).toBe(true))
    expect(new Set(results.map((r) => r.buffer)).size).toBe(3)
    const settled = await parallelMap(new Float64Array([1, 2, 3]), (x: number) => {
      if (x === 2) throw new Error('two')
      return x * 10
    }, { compute, chunkSize: 1, settled: true })
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect([settled[0], settled[2]]).toEqual([{ status: 'fulfilled', value: 10 }, { status: 'fulfilled', value: 30 }])
  })

  it('waits for an async function over a typed array (its promises are not written as NaN)', async () => {
    await open()
    const big = Float64Array.from({ length: 300_000 }, (_, i) => i)
    const doubled = await parallelMap(big, async (x: number) => x * 2, { compute })
    expect(doubled).toBeInstanceOf(Float64Array)
    expect(doubled.every((x, i) => x === 2 * i)).toBe(true)
    for (const extra of [{ chunkSize: 1 }, { callerRuns: true }, {}]) {
      expect([...(await parallelMap(Float64Array.from([1, 2, 3]), async (x: number) => x * 2, { compute, ...extra }))], JSON.stringify(extra)).toEqual([2, 4, 6])
    }
    const settled = await parallelMap(Int32Array.from([1, 2, 3]), async (x: number) => {
      if (x === 2) throw new Error('two')
      return x * 10
    }, { compute, settled: true })
    expect(settled[1]).toMatchObject({ status: 'rejected', reason: { index: 1, cause: { message: 'two' } } })
    expect([settled[0], settled[2]]).toEqual([{ status: 'fulfilled', value: 10 }, { status: 'fulfilled', value: 30 }])
  })

  it('rejects with the failing item\'s index and the original error as cause', async () => {
    await open()
    const error = await parallelMap([0, 1, 2, 3], (x: number) => {
      if (x === 2) throw new RangeError('two is bad')
      return x
    }, { compute, chunkSize: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MapItemError)
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_MAP_ITEM', index: 2 })
    expect((error as Error).message).toMatch(/item 2 failed: RangeError: two is bad/)
    expect((error as Error).cause).toBeInstanceOf(RangeError)
  })

  it('maps an array of numbers to results of any kind, in order, the same after an early failure', async () => {
    await open()
    const items = Array.from({ length: 4000 }, (_, i) => i)
    // ~20 µs per item: worth sending to the workers (on threads: as shared memory, in blocks).
    const mixed = (x: number) => {
      const end = performance.now() + 0.02
      while (performance.now() < end);
      if (x === 123) throw new Error('one two three')
      return x % 7 === 0 ? `s${x}` : x % 11 === 0 ? { v: x } : x * 2
    }
    const expected = (x: number) => (x % 7 === 0 ? `s${x}` : x % 11 === 0 ? { v: x } : x * 2)
    // The first map stops at the failure; the next (reusing its shared memory on threads) gets none of its leftovers.
    await expect(parallelMap(items, mixed, { compute })).rejects.toMatchObject({ index: 123 })
    const out = await parallelMap(items, mixed, { compute, settled: true })
    expect(out[123]).toMatchObject({ status: 'rejected', reason: { index: 123 } })
    out.forEach((o, x) => x !== 123 && expect(o).toEqual({ status: 'fulfilled', value: expected(x) }))
    // Plain numbers for the items the probe runs, promises for some later ones: awaited, in place.
    const sometimesLater = (x: number): number | Promise<string> => {
      const end = performance.now() + 0.02
      while (performance.now() < end);
      if (x % 500 === 499) return x === 1999 ? Promise.reject(new Error('later, bad')) : Promise.resolve(`later ${x}`)
      return x
    }
    const later = await parallelMap<number, number | string>(items, sometimesLater, { compute, settled: true })
    later.forEach((o, x) => {
      if (x === 1999) expect(o).toMatchObject({ status: 'rejected', reason: { index: 1999 } })
      else expect(o).toEqual({ status: 'fulfilled', value: x % 500 === 499 ? `later ${x}` : x })
    })
  })

  it('rejects with the failing element\'s index for a typed array, and lists every failure with stopOnError: false', async () => {
    await open()
    const input = Float64Array.from({ length: 20_000 }, (_, i) => i)
    const failAt = (x: number) => {
      if (x % 5000 === 4321) throw new RangeError(`bad ${x}`)
      return x * 2
    }
    const first = await parallelMap(input, failAt, { compute }).catch((e: unknown) => e)
    expect(first).toMatchObject({ code: 'ERR_SPINDLE_MAP_ITEM' })
    expect([4321, 9321, 14321, 19321]).toContain((first as MapItemError).index)
    const all = (await parallelMap(input, failAt, { compute, stopOnError: false }).catch((e: unknown) => e)) as AggregateError
    expect(all.errors.map((e: MapItemError) => e.index)).toEqual([4321, 9321, 14321, 19321])
  })

  it('with stopOnError: false, runs everything and rejects with an AggregateError in input order', async () => {
    await open()
    const items = Array.from({ length: 30 }, (_, i) => i)
    const error = (await parallelMap(items, (x: number) => {
      if (x % 10 === 5) throw new Error(`bad ${x}`)
      return x
    }, { compute, chunkSize: 4, stopOnError: false }).catch((e: unknown) => e)) as AggregateError
    expect(error).toBeInstanceOf(AggregateError)
    expect(error.errors.map((e: MapItemError) => e.index)).toEqual([5, 15, 25])
  })

  it('with settled: true, resolves with one outcome per item', async () => {
    await open()
    const out = await parallelMap([1, 2, 3], (x: number) => {
      if (x === 2) throw new Error('nope')
      return x * 10
    }, { compute, settled: true, chunkSize: 1 })
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(out[0]).toEqual({ status: 'fulfilled', value: 10 })
    expect(out[1]!.status === 'rejected' && out[1]!.reason.index).toBe(1)
  })

  it('names the variable when an inline function uses one from outside, and `context` fixes it', async () => {
    await open()
    const factor = 3
    await expect(parallelMap([1, 2], (x: number) => x * factor, { compute })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_NOT_SELF_CONTAINED',
      message: expect.stringContaining('"factor"'),
    })
    expect(await parallelMap([1, 2], (x: number) => x * factor, { compute, context: { factor } })).toEqual([3, 6])
  })

  it('rejects a context that cannot be sent, naming where the value is', async () => {
    await open()
    await expect(parallelMap([1, 2], (x: number) => x, { compute, context: { helper: () => 1 } })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_NOT_CLONEABLE',
      path: 'context.helper',
      message: expect.stringContaining('task module'),
    })
    const rows = Object.assign([1], { sum: () => 1 }) // only a thorough check finds it
    await expect(parallelMap([1, 2], t.echo, { compute, context: { rows } })).rejects.toMatchObject({ path: 'context.rows.sum' })
  })

  it('names the index of an item that cannot be sent, and maps the others', async () => {
    await open()
    const items: unknown[] = [1, 2, () => 3, 4]
    const error = (await parallelMap(items, t.echo, { compute, chunkSize: 10, stopOnError: false }).catch((e: unknown) => e)) as AggregateError
    expect(error.errors).toHaveLength(1)
    expect(error.errors[0]).toMatchObject({ index: 2, cause: { code: 'ERR_SPINDLE_NOT_CLONEABLE' } })
  })

  it('names the index of an item that clone refuses past the quick check (a function in an array\'s named property)', async () => {
    await open()
    const items = Array.from({ length: 12 }, (_, i) => (i === 7 ? Object.assign([i], { f: () => i }) : [i]))
    const settled = await parallelMap(items, t.echo, { compute, chunkSize: 4, settled: true })
    expect(settled.map((s) => s.status)).toEqual(items.map((_, i) => (i === 7 ? 'rejected' : 'fulfilled')))
    expect(settled[7]).toMatchObject({ reason: { index: 7, cause: { code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'item 7.f' } } })
    expect(settled[6]).toEqual({ status: 'fulfilled', value: [6] })
  })

  it('names the index of an item whose result clone refuses past the quick check, and maps the rest of its chunk', async () => {
    await open()
    const settled = await parallelMap([1, 2, 3, 4], (x: number) => (x === 3 ? Object.assign([x], { f: () => x }) : [x]), {
      compute,
      chunkSize: 4,
      settled: true,
    })
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(settled[2]).toMatchObject({ reason: { index: 2, cause: { code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'result.f' } } })
    expect(settled[3]).toEqual({ status: 'fulfilled', value: [4] })
  })

  it('names the index of an item whose result cannot be sent back', async () => {
    await open()
    const error = (await parallelMap([1, 2, 3], (x: number) => (x === 2 ? { f: () => x } : x), {
      compute,
      chunkSize: 3,
      stopOnError: false,
    }).catch((e: unknown) => e)) as AggregateError
    expect(error.errors).toHaveLength(1)
    expect(error.errors[0]).toMatchObject({ index: 1, cause: { code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'result.f' } })
  })

  it('reports progress up to the total', async () => {
    await open()
    const seen: Array<[number, number | undefined]> = []
    await parallelMap(Array.from({ length: 100 }, (_, i) => i), t.square, { compute, chunkSize: 10, onProgress: (d, n) => seen.push([d, n]) })
    expect(seen.at(-1)).toEqual([100, 100])
    expect(seen.map(([d]) => d)).toEqual([...seen.map(([d]) => d)].sort((a, b) => a - b))
    const typed: number[] = []
    await parallelMap(new Float64Array(50_000), (x: number) => x + 1, { compute, onProgress: (d, n) => (expect(n).toBe(50_000), typed.push(d)) })
    expect(typed.at(-1)).toBe(50_000)
    expect(typed).toEqual([...typed].sort((a, b) => a - b))
  })

  it('stops pulling and rejects with the reason when aborted mid-way', async () => {
    await open()
    const controller = new AbortController()
    let pulled = 0
    async function* endless() {
      for (let i = 0; ; i++) {
        pulled++
        if (i === 50) controller.abort(new Error('enough'))
        yield i
      }
    }
    await expect(parallelMap(endless(), t.square, { compute, chunkSize: 5, signal: controller.signal })).rejects.toThrow('enough')
    const after = pulled
    await new Promise((resolve) => setImmediate(resolve))
    expect(pulled).toBe(after) // nothing pulled after the rejection
    expect(pulled).toBeLessThan(200)
  })

  it('iterate(): yields in input order with bounded read-ahead', async () => {
    await open()
    const source = countedSource()
    let consumed = 0
    let maxAhead = 0
    for await (const value of parallelMap.iterate(source, t.square, { compute, chunkSize: 10, readAhead: 2 })) {
      expect(value).toBe(consumed * consumed)
      consumed++
      maxAhead = Math.max(maxAhead, source.pulled - consumed)
      if (consumed === 300) break
    }
    // Read-ahead: 2 chunks of 10 per node, plus the chunk being yielded.
    expect(maxAhead).toBeLessThanOrEqual(compute.nodes * 2 * 10 + 10)
    expect(source.pulled).toBeLessThan(400)
  })

  it("iterate() with 'auto' chunks takes from a lazy source only what its chunks hold, then the read-ahead", async () => {
    await open()
    const source = countedSource()
    const costly = (x: number) => {
      const end = performance.now() + 0.05 // ~50 µs: ~2 ms chunks of ~40 items
      while (performance.now() < end);
      return x
    }
    let consumed = 0
    for await (const value of parallelMap.iterate(source, costly, { compute })) {
      expect(value).toBe(consumed++)
      if (consumed === 50) break
    }
    expect(source.pulled - consumed, 'no sample of thousands of items taken ahead').toBeLessThan(1000)
  })

  it('iterate() with stopOnError: false yields every other item, then throws the failures in input order', async () => {
    await open()
    const failOdd = (x: number) => {
      if (x % 2 === 1) throw new Error(`odd ${x}`)
      return x * 10
    }
    for (const ordered of [true, false]) {
      const got: unknown[] = []
      const error = await (async () => {
        for await (const value of parallelMap.iterate([0, 1, 2, 3, 4, 5], failOdd, { compute, chunkSize: 2, stopOnError: false, ordered })) got.push(value)
      })().catch((e: unknown) => e as AggregateError)
      const values = ordered ? got : (got as Array<{ index: number; value: number }>).sort((a, b) => a.index - b.index).map((g) => g.value)
      expect(values, 'no stand-in value for a failed item').toEqual([0, 20, 40])
      expect(error).toBeInstanceOf(AggregateError)
      expect((error as AggregateError).errors.map((e: { index: number }) => e.index)).toEqual([1, 3, 5])
    }
  })

  it('iterate({ ordered: false }): every item once, tagged with its index', async () => {
    await open()
    const seen = new Map<number, number>()
    for await (const { index, value } of parallelMap.iterate([5, 6, 7, 8], t.square, { compute, ordered: false, chunkSize: 1 })) {
      seen.set(index, value)
    }
    expect([...seen.entries()].sort((a, b) => a[0] - b[0])).toEqual([[0, 25], [1, 36], [2, 49], [3, 64]])
  })
})

/** A million numbers, lazily, counting how many have been pulled. */
function countedSource(): Iterable<number> & { pulled: number } {
  const source = {
    pulled: 0,
    *[Symbol.iterator]() {
      for (let i = 0; i < 1_000_000; i++) {
        source.pulled++
        yield i
      }
    },
  }
  return source
}
