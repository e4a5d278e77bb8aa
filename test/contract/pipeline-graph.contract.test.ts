// Pending graphs of any shape: Pendings nested in arrays and objects, and chains of any depth,
// in compute.run and in pipeline steps (Dask's test_delayed: lists/dicts of delayed values, deep chains).
import { describe, expect, it } from 'vitest'
import { gather, ParallelExecutor, Pipeline, type Pending } from 'spindle'
import { BACKENDS, tasks as t, usePools, useProbes } from '../helpers/pools.js'

describe.each(BACKENDS)('Pendings nested in arguments on $name', ({ options }) => {
  const start = usePools()
  const probe = useProbes()

  it('compute.run resolves Pendings at any depth of plain arrays and objects, and leaves other values as they are', async () => {
    const pool = await start(options)
    expect(await pool.run(t.sum([t.add(1, 2), t.add(3, 4), 5]))).toBe(15)
    const shape = { a: t.add(1, 1), b: [t.echo('x'), { c: [t.multiply(2, 3)] }], plain: [1, { k: 'v' }], map: new Map([[1, 2]]) }
    expect(await pool.run(t.echo(shape))).toEqual({ a: 2, b: ['x', { c: [6] }], plain: [1, { k: 'v' }], map: new Map([[1, 2]]) })
    expect(shape.b[0]).toSatisfy((p) => p !== 'x') // the caller's arrays are not written to
    expect(await pool.run(gather(t.sum([t.add(1, 1)]), t.echo([[[t.echo(7)]]])))).toEqual([2, [[[7]]]])
  })

  it('runs a nested Pending once, however many arrays and calls hold it', async () => {
    const pool = await start(options)
    const counted = t.countRunFile(probe.path('runs')) // 1, and counts how often it ran
    const shared = [counted, counted]
    expect(await pool.run(t.echo({ x: shared, y: shared, z: t.sum([counted, 1]) }))).toEqual({ x: [1, 1], y: [1, 1], z: 2 })
    expect(probe.runs('runs')).toBe(1)
  })

  it('fails the call with the nested call\'s error', async () => {
    const pool = await start(options)
    await expect(pool.run(t.echo({ rows: [t.fail('no rows')] }))).rejects.toMatchObject({ message: 'no rows', code: 'E_TASK' })
  })

  it('pipeline steps read step outputs inside arrays and objects, and depend on them', async () => {
    const p = new Pipeline('nested-args')
    const a = p.step('a', t.add(1, 2))
    const b = p.step('b', t.multiply(a, 10))
    const total = p.step('total', t.sum([a, b, t.add(a, 1)]))
    const report = p.step('report', t.echo({ inputs: [a, b], total }))
    const run = await p.run({ executor: new ParallelExecutor({ backend: await start(options), maxWorkers: 2 }) })
    expect(run.status).toBe('succeeded')
    expect(run.output(total)).toBe(3 + 30 + 4)
    expect(run.output(report)).toEqual({ inputs: [3, 30], total: 37 })
    const step = (name: string) => run.steps.find((s) => s.name === name)!
    expect(step('total').startedAt).toBeGreaterThanOrEqual(step('b').endedAt!)
    expect(step('report').startedAt).toBeGreaterThanOrEqual(step('total').endedAt!)
  })
})

const DEEP = 100_000

describe.each(BACKENDS.filter((b) => b.name === 'inline' || b.name === 'thread'))('chains of $name', ({ options }) => {
  const start = usePools()
  const probe = useProbes()

  /** t.add(…t.add(t.add(from, 1), 1)…, 1), `length` calls deep; every `nestEvery`-th link holds its input in an array. */
  function chain(from: number | Pending<number>, length: number, nestEvery = 0): Pending<number> {
    let p = t.add(from, 1)
    for (let i = 1; i < length; i++) p = nestEvery > 0 && i % nestEvery === 0 ? t.sum([p, 1]) : t.add(p, 1)
    return p
  }

  it(`compute.run evaluates a chain of ${DEEP.toLocaleString('en-US')} dependent calls`, async () => {
    const pool = await start(options)
    expect(await pool.run(chain(0, DEEP, 7))).toBe(DEEP)
  }, 180_000) // a wide window: 100,000 round trips one after another, on a loaded machine

  it(`a pipeline step whose call is a chain of ${DEEP.toLocaleString('en-US')} calls on a step output, cached`, async () => {
    const p = new Pipeline('deep')
    const seed = p.step('seed', t.add(1, 1))
    const end = p.step('end', chain(seed, DEEP), { cache: true })
    const executor = new ParallelExecutor({ backend: await start(options), maxWorkers: 2 })
    const cacheDir = probe.path('cache') // this backend's own: the other's run would be a hit
    const run = await p.run({ executor, cacheDir })
    expect(run.steps.map((s) => [s.name, s.status, s.reused])).toEqual([['seed', 'succeeded', undefined], ['end', 'succeeded', undefined]])
    expect(run.output(end)).toBe(2 + DEEP)
    expect(run.steps[1]!.startedAt).toBeGreaterThanOrEqual(run.steps[0]!.endedAt!) // the dependency was found at the chain's far end
    const again = await p.run({ executor, cacheDir })
    expect(again.steps[1]).toMatchObject({ status: 'succeeded', reused: 'cache' }) // the same key, computed again
    expect(again.output(end)).toBe(2 + DEEP)
  }, 180_000)
})
