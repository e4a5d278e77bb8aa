// Dask's own tests of delayed graphs (dask/tests/test_delayed.py, test_local.py, test_threaded.py),
// ported: a Dask `delayed(f)(x)` is spindle's `t.f(x)`, `dask.compute` is `compute.run`, and a
// graph of dependent calls runs its independent parts at once. Each case names its Dask test.
//
// No counterpart in spindle, so not ported:
// - test_delayed: test_operators, test_methods, test_attributes, test_method_getattr_call_same_task
//   (a Pending has no operator overloading or attribute access: TypeScript has none to overload;
//   call a task that does the arithmetic), test_nout, test_kwargs (no keyword arguments: pass an
//   object), test_pure*, test_deterministic_name, test_delayed_name*, test_keys_from_array,
//   test_dask_layers, test_annotations_survive_optimization, test_delayed_fusion (no exposed keys,
//   layers or fusion), test_traverse_false, test_iterators (an iterator cannot be sent; Pendings are
//   found in plain arrays and objects), test_delayed_with_dataclass*, test_delayed_with_namedtuple,
//   test_pickle/test_cloudpickle (values travel by structured clone), numpy/array/bag cases.
// - test_local: test_start_state*, test_finish_task, test_cache_options, test_callback,
//   test_sort_key, test_complex_ordering, test_ordering (scheduler internals and callbacks; spindle's
//   step scheduler is tested in test/unit/list-scheduler.test.ts).
// - test_threaded: test_pool_kwarg, test_contextvars, test_context_aware_warnings.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Compute, gather, Pipeline, remote, type Pending } from 'spindle'
import type * as Dask from '../fixtures/dask-tasks.mjs'
import { usePools } from '../helpers/pools.js'

const d = remote<typeof Dask>(new URL('../fixtures/dask-tasks.mjs', import.meta.url))

const BACKENDS = [
  { name: 'inline', options: { backend: 'inline' } },
  { name: 'thread', options: { backend: 'thread', workers: 2 } },
] as const

describe.each(BACKENDS)('Dask delayed graphs, on $name', ({ options }) => {
  const start = usePools()
  let pool: Compute
  let dir = ''
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-peer-dask-'))
    pool = await start(options)
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const runs = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8').split('\n').length - 1
    } catch {
      return 0
    }
  }

  it('test_delayed: calls compose, a call of a call is a graph', async () => {
    expect(await pool.run(d.add(1, 2))).toBe(3)
    expect(await pool.run(d.add(d.add(1, 2), 3))).toBe(6)
  })

  it('test_common_subexpressions: a dependency used twice runs once', async () => {
    const a = d.counted(join(dir, 'a'), 1)
    expect(await pool.run(d.add(a, a))).toBe(2)
    expect(runs('a')).toBe(1)
  })

  it('test_lists: Pendings inside a list argument are computed first', async () => {
    const a = d.identity(1)
    const b = d.identity(2)
    expect(await pool.run(d.sum([a, b]))).toBe(3)
  })

  it('test_literates: lists and dicts of Pendings and plain values, at any depth', async () => {
    const a = d.identity(1)
    const b = d.inc(a)
    expect(await pool.run(d.identity([a, b, 3]))).toEqual([1, 2, 3])
    expect(await pool.run(d.identity({ a, b, c: 3 }))).toEqual({ a: 1, b: 2, c: 3 })
    expect(await pool.run(d.identity({ outer: [{ inner: [a] }, b] }))).toEqual({ outer: [{ inner: [1] }, 2] })
  })

  it('test_lists_are_concrete: nested lists of Pendings arrive as values', async () => {
    const a = d.identity(1)
    const b = d.identity(2)
    expect(await pool.run(d.secondOfMax([[a, 10], [b, 20]]))).toBe(20)
  })

  it('test_exceptions_propagate: a task error crosses with its class name, message and fields', async () => {
    const error = (await pool.run(d.raiseMine()).catch((e: unknown) => e)) as Error & { a: number; b: number }
    expect(error).toMatchObject({ name: 'MyException', message: 'My Exception!', a: 1, b: 2 })
  })

  it('test_exceptions_rise_to_top: a failing dependency rejects the root with its own error, and dependents never run', async () => {
    const failing = d.raiseMine()
    const after = d.counted(join(dir, 'after'), d.identity(failing))
    await expect(pool.run(after)).rejects.toMatchObject({ name: 'MyException', a: 1 })
    expect(runs('after')).toBe(0)
  })

  it('test_ensure_calculate_only_whats_needed: only the graph of what is run runs', async () => {
    const x1 = d.counted(join(dir, 'x1'), 1)
    const x2 = d.counted(join(dir, 'x2'), 1)
    void x1 // described, never part of what runs
    expect(await pool.run(d.add(1, x2))).toBe(2)
    expect([runs('x1'), runs('x2')]).toEqual([0, 1])
  })

  it('test_get / test_nested_get: a gather of gathers gives nested results', async () => {
    expect(await pool.run(gather(gather(d.inc(1), d.inc(2)), d.inc(3)))).toEqual([[2, 3], 4])
  })

  it('deep chains: 10,000 dependent calls (Dask) and 100,000 (spindle\'s bar) evaluate without a stack overflow', async () => {
    for (const length of [10_000, 100_000]) {
      let p: Pending<number> = d.inc(0)
      for (let i = 1; i < length; i++) p = d.inc(p)
      expect(await pool.run(p)).toBe(length)
    }
  }, 300_000)

  it('test_reuse_pool / test_thread_safety: many graphs at once on one pool, each right', async () => {
    const graphs = Array.from({ length: 50 }, (_, i) => pool.run(d.add(d.inc(i), d.sum([d.inc(i), i]))))
    expect(await Promise.all(graphs)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1 + (i + 1 + i)))
  })
})

describe('Dask: test_threaded.py and test_local.py on a thread pool', () => {
  const start = usePools()

  it("test_dont_spawn_too_many_threads: calls run on the pool's threads only, however many are queued", async () => {
    const pool = await start({ workers: 2 })
    const threads = await pool.run(gather(...Array.from({ length: 40 }, () => d.thread())))
    expect(new Set(threads).size).toBeLessThanOrEqual(2)
  })

  it('test_interrupt: an aborted graph rejects at once and runs nothing more', async () => {
    const pool = await start({ workers: 2 })
    const controller = new AbortController()
    const run = pool.run(gather(...Array.from({ length: 20 }, () => d.spin(500))), { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('interrupted')), 50)
    const started = performance.now()
    await expect(run).rejects.toThrow('interrupted')
    expect(performance.now() - started).toBeLessThan(2500) // at once, not after 20 × 500 ms / 2 workers
  })

  it('test_detect_malformed_graph: a missing dependency is refused before anything runs', async () => {
    const p = new Pipeline('p')
    p.step('y', d.identity(1), { after: ['x'] })
    await expect(p.run()).rejects.toMatchObject({ code: 'ERR_SPINDLE_UNKNOWN_STEP' })
  })
})
