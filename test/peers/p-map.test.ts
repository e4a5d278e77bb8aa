// p-map's own test suite (test.js in sindresorhus/p-map), ported to parallelMap on worker threads:
// what someone coming from p-map relies on. Each case names the p-map test it came from.
//
// The mapper runs on a worker, so it is a self-contained function; it counts the items running at
// once in shared memory (`context.cells`: [running, most running, started]), the invariant p-map's
// own tests check inside the mapper. Items are data: p-map's inputs that hold promises or functions
// (`[async () => 10, 300]`) are given as their values.
//
// No counterpart in spindle, so not ported:
// - "pMapSkip", "multiple pMapSkips", "all pMapSkips" (and their asyncIterator and pMapIterable
//   versions): no skip sentinel; filter the results.
// - "all mappers should run when concurrency is infinite, even after stop-on-error happened" and
//   "no unhandled rejected promises from mapper throws - infinite concurrency": with stopOnError
//   (the default) spindle cancels what is still running on the first failure (SPEC: an abort is
//   seen at once) instead of letting it finish; `stopOnError: false` runs every item (below).
// - "pMapIterable - backpressure" with `backpressure`: parallelMap.iterate bounds what is in flight
//   or finished but not yet consumed by `readAhead` chunks per node instead (below).
import { getEventListeners } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Compute, parallelMap, type MapItemError } from 'spindle'

/** [running, most running, started] as the items see them. */
function counters() {
  const cells = new Int32Array(new SharedArrayBuffer(12))
  return { cells, most: () => Atomics.load(cells, 1), started: () => Atomics.load(cells, 2) }
}

/** p-map's `mapper`: waits `ms`, gives `value`, and counts how many run at once. */
const mapper = async ([value, ms]: [unknown, number]) => {
  const now = Atomics.add(cells, 0, 1) + 1
  Atomics.add(cells, 2, 1)
  for (let most = Atomics.load(cells, 1); now > most; most = Atomics.load(cells, 1)) Atomics.compareExchange(cells, 1, most, now)
  await new Promise((resolve) => setTimeout(resolve, ms))
  Atomics.sub(cells, 0, 1)
  if (value === 'throw foo' || value === 'throw bar') throw new Error(value.slice(6))
  return value
}
declare const cells: Int32Array // the mapper's context, on the worker

const sharedInput: Array<[number, number]> = [[10, 300], [20, 200], [30, 100]]
const errorInput1: Array<[unknown, number]> = [[20, 200], [30, 100], ['throw foo', 10], ['throw bar', 10]]
const errorInput2: Array<[unknown, number]> = [[20, 200], ['throw bar', 10], [30, 100], ['throw foo', 10]]

async function* slowly<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    yield item
  }
}

describe('p-map: test.js, on worker threads', () => {
  let compute: Compute
  beforeAll(async () => void (compute = await Compute.start({ workers: 2 })))
  afterAll(() => compute.close())
  const map = <T>(input: Iterable<T> | AsyncIterable<T>, options: { concurrency?: number; stopOnError?: boolean; signal?: AbortSignal } = {}) => {
    const c = counters()
    return { c, done: parallelMap(input as Iterable<[unknown, number]>, mapper, { compute, context: { cells: c.cells }, ...options }) }
  }

  it('main: results in input order, items at once', async () => {
    const { c, done } = map(sharedInput)
    expect(await done).toEqual([10, 20, 30])
    expect(c.most()).toBeGreaterThan(1)
  })

  it('concurrency: 1', async () => {
    const { c, done } = map(sharedInput, { concurrency: 1 })
    expect(await done).toEqual([10, 20, 30])
    expect(c.most()).toBe(1)
  })

  it('concurrency: 4 (never more than 4 items running, across the pool)', async () => {
    const input = Array.from({ length: 100 }, (_, i): [number, number] => [i, 5 + ((i * 37) % 40)])
    const { c, done } = map(input, { concurrency: 4 })
    expect(await done).toEqual(input.map(([value]) => value))
    expect(c.most()).toBeLessThanOrEqual(4)
    expect(c.most()).toBeGreaterThan(1)
  })

  it('handles empty iterable', async () => {
    expect(await map([]).done).toEqual([])
  })

  it('async with concurrency: 2 (random, problematic and out of order time sequences)', async () => {
    for (const times of [[37, 3, 88, 12, 60, 5, 71, 22, 9, 45], [100, 200, 10, 36, 13, 45], [200, 100, 50]]) {
      const input = times.map((ms): [number, number] => [ms, ms])
      const { c, done } = map(input, { concurrency: 2 })
      expect(await done).toEqual(times)
      expect(c.most()).toBeLessThanOrEqual(2)
    }
  })

  it('enforce number in options.concurrency', async () => {
    for (const bad of [0, 1.5, -1, '2']) {
      await expect(parallelMap([], (x: number) => x, { compute, concurrency: bad as number })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining('`concurrency`') })
    }
    for (const good of [1, 10, Number.POSITIVE_INFINITY]) await expect(map([], { concurrency: good }).done).resolves.toEqual([])
  })

  it('immediately rejects when stopOnError is true: the first failure, with its index', async () => {
    const first = (await map(errorInput1, { concurrency: 1 }).done.catch((e: unknown) => e)) as MapItemError
    expect(first).toMatchObject({ code: 'ERR_SPINDLE_MAP_ITEM', index: 2, cause: { message: 'foo' } })
    const second = (await map(errorInput2, { concurrency: 1 }).done.catch((e: unknown) => e)) as MapItemError
    expect(second).toMatchObject({ index: 1, cause: { message: 'bar' } })
  })

  it('aggregate errors when stopOnError is false', async () => {
    await expect(map(sharedInput, { concurrency: 1, stopOnError: false }).done).resolves.toEqual([10, 20, 30])
    const errors = (await map(errorInput1, { concurrency: 1, stopOnError: false }).done.catch((e: unknown) => e)) as AggregateError
    expect(errors).toBeInstanceOf(AggregateError)
    expect(errors.errors.map((e: MapItemError) => [e.index, (e.cause as Error).message])).toEqual([[2, 'foo'], [3, 'bar']])
  })

  it('asyncIterator - main, concurrency: 1 and 4, empty', async () => {
    expect(await map(slowly(sharedInput)).done).toEqual([10, 20, 30])
    const one = map(slowly(sharedInput), { concurrency: 1 })
    expect(await one.done).toEqual([10, 20, 30])
    expect(one.c.most()).toBe(1)
    const input = Array.from({ length: 30 }, (_, i): [number, number] => [i, 5 + ((i * 17) % 30)])
    const four = map(slowly(input), { concurrency: 4 })
    expect(await four.done).toEqual(input.map(([value]) => value))
    expect(four.c.most()).toBeLessThanOrEqual(4)
    expect(await map(slowly([])).done).toEqual([])
  })

  it('asyncIterator - immediately rejects when stopOnError is true; aggregate errors when it is false', async () => {
    await expect(map(slowly(errorInput1), { concurrency: 1 }).done).rejects.toMatchObject({ index: 2, cause: { message: 'foo' } })
    const errors = (await map(slowly(errorInput2), { concurrency: 1, stopOnError: false }).done.catch((e: unknown) => e)) as AggregateError
    expect(errors.errors.map((e: MapItemError) => e.index)).toEqual([1, 3])
  })

  it('catches exception from source iterator - 1st and 2nd item: the map rejects with it, and nothing after it runs', async () => {
    for (const throwAt of [0, 1]) {
      let pulled = 0
      const source = {
        [Symbol.iterator]: () => ({
          next: () => {
            if (pulled++ === throwAt) throw new Error(`throwing on index ${throwAt}`)
            return { value: [pulled, 20] as [number, number], done: pulled > 100 }
          },
        }),
      }
      const { c, done } = map(source, { concurrency: 1 })
      await expect(done).rejects.toThrow(`throwing on index ${throwAt}`)
      expect(c.started()).toBeLessThanOrEqual(throwAt)
    }
  })

  it('no unhandled rejected promises from mapper throws - concurrency 1: only the first item ran', async () => {
    const input: Array<[unknown, number]> = [['throw foo', 30], ['throw bar', 30], ['throw foo', 30]]
    const { c, done } = map(input, { concurrency: 1 })
    await expect(done).rejects.toMatchObject({ index: 0 })
    expect(c.started()).toBe(1)
  })

  it('incorrect input type and invalid mapper: refused before anything runs', async () => {
    await expect(parallelMap(123_456 as never, mapper, { compute })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    await expect(parallelMap([], 'invalid mapper' as never, { compute, concurrency: 2 })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
  })

  it('abort by AbortController, and an already aborted signal (no listener left on it)', async () => {
    const controller = new AbortController()
    const { done } = map(slowly(Array.from({ length: 100 }, (_, i): [number, number] => [i, 50])), { signal: controller.signal })
    setTimeout(() => controller.abort(), 100)
    await expect(done).rejects.toMatchObject({ name: 'AbortError' })
    const aborted = new AbortController()
    aborted.abort()
    await expect(map(sharedInput, { signal: aborted.signal }).done).rejects.toMatchObject({ name: 'AbortError' })
    expect(getEventListeners(aborted.signal, 'abort')).toHaveLength(0)
  })

  it('pMapIterable: in order, with the index in the mapper, empty, and a mapper that throws', async () => {
    const out: unknown[] = []
    for await (const value of parallelMap.iterate(sharedInput, mapper, { compute, context: { cells: counters().cells } })) out.push(value)
    expect(out).toEqual([10, 20, 30])
    const indexed: unknown[] = []
    for await (const value of parallelMap.iterate([5, 6, 7], (item: number, index: number) => [item, index], { compute })) indexed.push(value)
    expect(indexed).toEqual([[5, 0], [6, 1], [7, 2]])
    for await (const _ of parallelMap.iterate([], (x: number) => x, { compute })) expect.unreachable()
    const failing = async () => {
      for await (const _ of parallelMap.iterate(errorInput1, mapper, { compute, context: { cells: counters().cells }, concurrency: 1 })) void _
    }
    await expect(failing()).rejects.toMatchObject({ index: 2, cause: { message: 'foo' } })
  })

  it('pMapIterable - concurrency: 1 and 2', async () => {
    for (const concurrency of [1, 2]) {
      const c = counters()
      const out: unknown[] = []
      const input = Array.from({ length: 8 }, (_, i): [number, number] => [i, 20])
      for await (const value of parallelMap.iterate(input, mapper, { compute, context: { cells: c.cells }, concurrency })) out.push(value)
      expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      expect(c.most()).toBe(concurrency)
    }
  })
})
