// process.exit() inside one item of a map chunk on a node agent (process and SSH backends) fails
// that item alone, as on threads (map-faults.test.ts): the agent holds the chunk's rescue buffer
// and reports what the worker left. Runs are counted in files, one per item (no shared memory).
// What the worker left includes the failures before the exiting item, on every backend.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MapItemError, parallelMap, WorkerExitError } from 'spindle'
import { BACKENDS, tasks as t, usePools } from '../helpers/pools.js'

const workers = BACKENDS.filter((b) => b.name !== 'inline').map((b) => [b.name, b.options] as const)
const agents = BACKENDS.filter((b) => b.name === 'process' || b.name === 'ssh').map((b) => [b.name, b.options] as const)
const exits = (i: number) => i % 10 === 3

describe.each(agents)('%s: an exit inside one item of a chunk', (_name, options) => {
  const start = usePools()
  const dirs: string[] = []
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  /** 40 short items, those with i % 10 === 3 exiting their worker; `runs()` reads each item's count of runs. */
  const exitingItems = () => {
    const dir = mkdtempSync(join(tmpdir(), 'spindle-agent-exits-'))
    dirs.push(dir)
    const items = Array.from({ length: 40 }, (_, i) => ({ dir, i, exit: exits(i) }))
    const runs = () => {
      const counted = new Map(readdirSync(dir).map((name) => [Number(name), statSync(join(dir, name)).size]))
      return items.map((item) => counted.get(item.i) ?? 0)
    }
    return { items, runs }
  }
  const notOnce = (runs: number[]) => runs.flatMap((n, i) => (n === 1 ? [] : [`${i}: ${n}`]))

  it('with `settled`, fails exactly the exiting items, each with its index and a WorkerExitError; every other item runs once and is right', async () => {
    const compute = await start(options)
    for (const chunkSize of ['auto', 10] as const) {
      const { items, runs } = exitingItems()
      const out = await parallelMap(items, t.countRunFileOrExit, { compute, chunkSize, settled: true })
      const failed = out.flatMap((o, i) => (o.status === 'rejected' ? [i] : []))
      expect(failed, `chunkSize ${chunkSize}: failed items`).toEqual(items.filter((item) => item.exit).map((item) => item.i))
      for (const i of failed) {
        const reason = (out[i] as PromiseRejectedResult).reason as MapItemError
        expect(reason, `item ${i}`).toBeInstanceOf(MapItemError)
        expect(reason.index).toBe(i)
        expect(reason.cause, `item ${i}`).toBeInstanceOf(WorkerExitError)
      }
      expect(out.filter((o, i) => !exits(i) && !(o.status === 'fulfilled' && o.value === i * 2)), `chunkSize ${chunkSize}: wrong results`).toEqual([])
      expect(notOnce(runs()), `chunkSize ${chunkSize}: items not run exactly once`).toEqual([])
    }
  })

  it('a long chunk that sent results ahead keeps them and those the worker left after them; only the exiting item fails', async () => {
    const compute = await start(options)
    const { items, runs } = exitingItems()
    // One chunk of 40 items of 2 ms: it sends its finished items' results every 25 ms, then its
    // worker exits at item 33 (the chunk's only exiting item here).
    const long = items.map((item) => ({ ...item, exit: item.i === 33, ms: 2 }))
    const out = await parallelMap(long, t.countRunFileOrExit, { compute, chunkSize: 40, settled: true })
    expect(out.flatMap((o, i) => (o.status === 'rejected' ? [i] : []))).toEqual([33])
    expect(out.filter((o, i) => i !== 33 && !(o.status === 'fulfilled' && o.value === i * 2))).toEqual([])
    expect(notOnce(runs())).toEqual([])
  })

  it('with `stopOnError: false`, rejects with the exiting items alone, every other item run once', async () => {
    const compute = await start(options)
    const { items, runs } = exitingItems()
    const error = await parallelMap(items, t.countRunFileOrExit, { compute, stopOnError: false }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AggregateError)
    const reasons = (error as AggregateError).errors as MapItemError[]
    expect(reasons.map((r) => r.index)).toEqual(items.filter((item) => item.exit).map((item) => item.i))
    expect(reasons.filter((r) => !(r.cause instanceof WorkerExitError))).toEqual([])
    expect(notOnce(runs())).toEqual([])
  })

  it('with `stopOnError`, rejects with an exiting item\'s own error; no item runs twice', async () => {
    const compute = await start(options)
    const { items, runs } = exitingItems()
    // Chunks of 10: each holds one exiting item, at its offset 3.
    const error = await parallelMap(items, t.countRunFileOrExit, { compute, chunkSize: 10 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MapItemError)
    expect(exits((error as MapItemError).index), `index ${(error as MapItemError).index}`).toBe(true)
    expect((error as MapItemError).cause).toBeInstanceOf(WorkerExitError)
    expect(runs().flatMap((n, i) => (n > 1 ? [`${i}: ${n}`] : []))).toEqual([])
    // The pool is still usable.
    expect(await parallelMap([3, 4], t.square, { compute })).toEqual([9, 16])
  })
})

describe.each(workers)('%s: an exit inside a chunk after an item failed', (_name, options) => {
  const start = usePools()

  it('keeps the failure of the item before it, with its own error, beside the exiting item\'s', async () => {
    const compute = await start(options)
    const dir = mkdtempSync(join(tmpdir(), 'spindle-agent-exits-'))
    try {
      // One chunk: item 1 throws, item 3 exits its worker; the rest are right and run once.
      const items = Array.from({ length: 10 }, (_, i) => ({ dir, i, fail: i === 1, exit: i === 3 }))
      const out = await parallelMap(items, t.countRunFileOrExit, { compute, chunkSize: 10, settled: true })
      const failed = out.flatMap((o, i) => (o.status === 'rejected' ? [[i, (o.reason as MapItemError).index, (o.reason as MapItemError).cause]] : []))
      expect(failed).toEqual([[1, 1, expect.objectContaining({ message: 'item 1' })], [3, 3, expect.any(WorkerExitError)]])
      expect(out.filter((o, i) => i !== 1 && i !== 3 && !(o.status === 'fulfilled' && o.value === i * 2))).toEqual([])
      expect(items.map((item) => statSync(join(dir, String(item.i))).size)).toEqual(Array(10).fill(1))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
