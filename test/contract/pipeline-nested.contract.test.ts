// Nested pipelines, map steps, parameters and scripts, on every backend, on one shared pool.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ParallelExecutor, Pipeline, type Pending, type PipelineEvent } from 'spindle'
import { BACKENDS, tasks as t, usePools, useProbes } from '../helpers/pools.js'

describe.each(BACKENDS)('nested pipelines on $name', ({ options }) => {
  const start = usePools()
  const probe = useProbes()
  const executor = async (maxWorkers = 2) => new ParallelExecutor({ backend: await start(options), maxWorkers })

  function variant(name: string, raw: Pending<number>, factor: number, depth: number): Pipeline {
    const branch = new Pipeline(name)
    const scaled = branch.step('scale', t.multiply(raw, factor))
    if (depth > 0) {
      branch.parallel('deeper', { inner: variant(`${name}-inner`, raw, factor + 1, depth - 1) })
    }
    branch.step('result', t.add(scaled, 0), depth > 0 ? { after: ['deeper'] } : {})
    return branch
  }

  it('runs branches of any depth that read the outer pipeline\'s steps', async () => {
    const p = new Pipeline('outer')
    const raw = p.step('load', t.add(2, 3))
    const variants = p.parallel('variants', { small: variant('small', raw, 10, 1), large: variant('large', raw, 100, 2) })
    const summary = p.step('summary', t.echo(variants))
    const run = await p.run({ executor: await executor() })
    expect(run.status).toBe('succeeded')
    expect(run.output(summary)).toEqual({ small: 50, large: 500 })
    expect(run.steps.map((s) => s.name)).toContain('variants/large/deeper/inner/deeper/inner/result')
    expect(run.steps.every((s) => s.status === 'succeeded')).toBe(true)
  })

  it('never runs more leaf steps at once than maxWorkers, across all branches', async () => {
    const p = new Pipeline('limited')
    const branches = Object.fromEntries(
      ['a', 'b', 'c'].map((name) => {
        const branch = new Pipeline(name)
        for (let i = 0; i < 3; i++) branch.step(`s${i}`, t.concurrentFile(probe.path('busy'), 5))
        return [name, branch]
      }),
    )
    p.parallel('all', branches)
    const run = await p.run({ executor: await executor(2) })
    expect(run.status).toBe('succeeded')
    expect(probe.maxConcurrent('busy')).toBeLessThanOrEqual(2)
  })

  it('maps one call per item, keyed by index, with a reduce; empty input gives []', async () => {
    const p = new Pipeline('mapped')
    const items = p.step('items', t.echo([1, 2, 3, 2]))
    const squares = p.map('squares', items, (x: number) => t.square(x))
    const total = p.map('total', [1, 2, 3], (x: number, i: number) => t.add(x, i), { reduce: (xs) => xs.reduce((a, b) => a + b, 0) })
    const none = p.map('none', [] as number[], (x: number) => t.square(x))
    const run = await p.run({ executor: await executor() })
    expect(run.output(squares)).toEqual([1, 4, 9, 4])
    expect(run.output(total)).toBe(1 + 2 + 3 + 0 + 1 + 2)
    expect(run.output(none)).toEqual([])
  })

  it('maps 100,000 items, making each item\'s call only when it can start (memory bounded by the items in flight)', async () => {
    const N = 100_000
    const p = new Pipeline('wide')
    const items = p.step('items', t.echo(Array.from({ length: N }, (_, i) => i)))
    let made = 0
    let done = 0
    let ahead = 0 // the most item calls made but not finished at any moment
    const plusOne = p.map('plusOne', items, (x: number) => {
      ahead = Math.max(ahead, ++made - done)
      return t.add(x, 1)
    })
    // 64 steps in flight on a pool of 2 nodes, so the dispatcher has calls to batch (one round
    // trip per item would take 10-30 s over processes and SSH). No run log: events wait for the
    // records made before them to be synced, so `done` would lag by a sync of the `items` output.
    const run = await p.run({ executor: await executor(64), runLog: false, onEvent: (e) => e.type === 'items' && (done = e.done) })
    expect(run.status).toBe('succeeded')
    expect(run.output(plusOne)).toEqual(Array.from({ length: N }, (_, i) => i + 1))
    // In flight: 64 slots, plus the look-ahead of cheap calls on thread and inline pools (at most
    // 256 per slot); and one item's call made while it waits for a slot.
    expect(ahead).toBeLessThanOrEqual(64 * (1 + 256) + 1)
  })

  it('a parallel step whose branch steps were cancelled (a failure elsewhere stopped the run) is cancelled, not succeeded', async () => {
    /** hold → next: `next` can only start after `hold`, which is released once `release` is due. */
    const heldBranch = (name: string) => {
      const branch = new Pipeline(name)
      branch.step('next', t.echo(branch.step('hold', t.holdUntilFile(probe.path(`${name}-started`), probe.path(name)))))
      return branch
    }
    const releaseOn = (failed: string, hold: string) => (e: PipelineEvent) => e.type === 'step' && e.step === failed && e.status === 'failed' && probe.release(hold)

    const top = new Pipeline('top')
    top.step('bad', t.fail('broken'))
    top.parallel('branches', { c: heldBranch('c') })
    const run = await top.run({ executor: await executor(), onEvent: releaseOn('bad', 'c') })
    const status = (r: typeof run, name: string) => r.steps.find((s) => s.name === name)!.status
    expect(run.status).toBe('failed')
    expect(status(run, 'branches/c/next')).toBe('cancelled')
    expect(status(run, 'branches')).toBe('cancelled')

    // The same one level down: a sibling branch fails; the parallel step inside the other branch is cancelled.
    const inner = new Pipeline('b')
    inner.parallel('inner', { d: heldBranch('d') })
    const failing = new Pipeline('a')
    failing.step('boom', t.fail('broken'))
    const outer = new Pipeline('outer')
    outer.parallel('both', { a: failing, b: inner })
    const nested = await outer.run({ executor: await executor(), onEvent: releaseOn('both/a/boom', 'd') })
    expect(nested.status).toBe('failed')
    expect(status(nested, 'both/b/inner/d/next')).toBe('cancelled')
    expect(status(nested, 'both/b/inner')).toBe('cancelled')
    expect(status(nested, 'both')).toBe('failed')
  })

  it('gives parameters to every branch, with defaults, and names a missing one', async () => {
    const p = new Pipeline('params')
    const factor = p.param<number>('factor')
    const offset = p.param('offset', 1)
    const branch = new Pipeline('branch')
    const inner = branch.step('inner', t.multiply(factor, 2))
    void inner
    p.parallel('b', { branch })
    const out = p.step('out', t.add(factor, offset))
    const run = await p.run({ executor: await executor(), params: { factor: 5 } })
    expect(run.output(out)).toBe(6)
    const missing = await p.run({ executor: await executor() })
    expect(missing.status).toBe('failed')
    expect(missing.steps.find((s) => s.name === 'b/branch/inner')!.error).toMatchObject({ code: 'ERR_SPINDLE_MISSING_PARAM' })
    expect(missing.steps.find((s) => s.name === 'b')!.error).toMatchObject({ cause: { code: 'ERR_SPINDLE_MISSING_PARAM' } })
  })
})

describe('script steps', () => {
  let dir: string | undefined
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }))

  it('run a script file in its own process, with arguments', async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-script-'))
    const file = join(dir, 'report.mjs')
    writeFileSync(file, 'console.log(`report for ${process.argv[2]} from pid ${process.pid !== 0}`)\n')
    const p = new Pipeline('scripts')
    const report = p.script('report', file, { args: ['model-7'] })
    const run = await p.run({ executor: new ParallelExecutor({ backend: 'inline' }) })
    expect(run.output(report).stdout).toBe('report for model-7 from pid true\n')
  })
})
