// Pipelines on every backend: dependencies from arguments, parallel branches, failure modes.
import { describe, expect, it } from 'vitest'
import { ParallelExecutor, Pipeline, type PipelineEvent } from 'spindle'
import { BACKENDS, tasks as t, usePools, useProbes } from '../helpers/pools.js'

describe.each(BACKENDS)('Pipeline on $name', ({ options }) => {
  const start = usePools()
  const probe = useProbes()
  const executor = async (maxWorkers = 2) => new ParallelExecutor({ backend: await start(options), maxWorkers })

  it('infers dependencies from arguments and runs independent steps at once', async () => {
    const p = new Pipeline('etl')
    const raw = p.step('load', t.add(1, 2))
    const a = p.step('featA', t.multiply(raw, 10))
    const b = p.step('featB', t.add(raw, t.concurrentFile(probe.path('busy'), 50)))
    const model = p.step('train', t.add(a, b))
    const run = await p.run({ executor: await executor() })
    expect(run.status).toBe('succeeded')
    expect(run.output(raw)).toBe(3)
    expect(run.output(model)).toBe(30 + 3 + 1)
    expect(run.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ['load', 'succeeded', 1],
      ['featA', 'succeeded', 1],
      ['featB', 'succeeded', 1],
      ['train', 'succeeded', 1],
    ])
    for (const step of run.steps) expect(step.node, `node of ${step.name}`).toBeLessThan(2) // where it ran
    const train = run.steps[3]!
    expect(train.startedAt).toBeGreaterThanOrEqual(run.steps[1]!.endedAt!)
    expect(train.startedAt).toBeGreaterThanOrEqual(run.steps[2]!.endedAt!)
  })

  it('orders by `after`, runs shell steps and stubs', async () => {
    const p = new Pipeline('ordered')
    const first = p.step('first', t.echo('one'))
    const say = p.shell('say', ['node', '-e', 'process.stdout.write("hello")'], { after: [first] })
    const done = p.stub('done', { after: [say] })
    const run = await p.run({ executor: await executor() })
    expect(run.status).toBe('succeeded')
    expect(run.output(say)).toMatchObject({ code: 0, stdout: 'hello' })
    expect(run.output(done)).toBeUndefined()
    expect(run.steps[1]!.startedAt).toBeGreaterThanOrEqual(run.steps[0]!.endedAt!)
  })

  it('fails fast: starts nothing after a failure, and says which step failed and why', async () => {
    const p = new Pipeline('fails')
    const bad = p.step('bad', t.fail('broken input'))
    p.step('after', t.echo(bad))
    const run = await p.run({ executor: await executor(1) })
    expect(run.status).toBe('failed')
    expect(run.steps[0]).toMatchObject({ name: 'bad', status: 'failed', error: { message: 'broken input', code: 'E_TASK' } })
    expect(run.steps[1]).toMatchObject({ name: 'after', status: 'skipped', blockedBy: 'bad' })
    expect(() => run.output(bad)).toThrow(/Step "bad" has no output: it failed/)
  })

  it('with continueOnError, runs everything not downstream of a failure', async () => {
    const p = new Pipeline('partial')
    const bad = p.step('bad', t.fail('nope'))
    const down = p.step('downstream', t.echo(bad))
    const other = p.step('independent', t.add(2, 2))
    const run = await p.run({ executor: await executor(1), continueOnError: true })
    expect(run.status).toBe('failed')
    expect(run.output(other)).toBe(4)
    expect(run.steps.find((s) => s.name === 'downstream')).toMatchObject({ status: 'skipped', blockedBy: 'bad' })
    expect(() => run.output(down)).toThrow(/was skipped/)
  })

  it('retries a step that throws, as many times as asked', async () => {
    const p = new Pipeline('retry')
    const step = p.step('flaky', t.flakyFile(probe.path('flaky'), 2), { retries: 2, retryDelay: 1 })
    const events: PipelineEvent[] = []
    const run = await p.run({ executor: await executor(), onEvent: (e) => events.push(e) })
    expect(run.output(step)).toBe('ok after 3')
    expect(run.steps[0]!.attempts).toBe(3)
    const statuses = events.flatMap((e) => (e.type === 'step' ? [e.status] : []))
    expect(statuses).toEqual(['running', 'pending', 'running', 'pending', 'running', 'succeeded'])
  })

  it('runs the critical path first when workers are scarce', async () => {
    const p = new Pipeline('priorities')
    const short = p.step('short', t.echo(1))
    const long1 = p.step('long1', t.echo(2))
    const long2 = p.step('long2', t.echo(long1))
    p.step('long3', t.echo(long2))
    void short
    const order: string[] = []
    // No run log: with one, the durations of this test's run on the previous backend would rank
    // the steps (test/integration/pipeline-runlog.test.ts), and echo steps' times are noise.
    await p.run({ executor: await executor(1), runLog: false, onEvent: (e) => e.type === 'step' && e.status === 'running' && order.push(e.step) })
    expect(order[0]).toBe('long1')
  })

  it('cancels a run: running steps stop and the record says cancelled', async () => {
    const p = new Pipeline('cancel')
    p.step('slow', t.delayedEcho('x', 60_000))
    p.step('never', t.echo(1), { after: ['slow'] })
    const controller = new AbortController()
    const running = p.run({
      executor: await executor(),
      signal: controller.signal,
      onEvent: (e) => e.type === 'step' && e.status === 'running' && controller.abort(new Error('stop')),
    })
    const run = await running
    expect(run.status).toBe('cancelled')
    expect(run.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled'])
  })
})

describe('Pipeline: bad definitions get clear errors before any work', () => {
  it('a duplicate step name', () => {
    const p = new Pipeline('dup')
    p.stub('a')
    expect(() => p.stub('a')).toThrow(expect.objectContaining({ code: 'ERR_SPINDLE_DUPLICATE_STEP' }))
  })

  it('an unknown step, a cycle (with its path), a step of another pipeline', async () => {
    const unknown = new Pipeline('unknown')
    unknown.stub('report', { after: ['parse2'] })
    unknown.stub('parse')
    await expect(unknown.run({ executor: new ParallelExecutor({ backend: 'inline' }) })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_UNKNOWN_STEP',
      message: expect.stringContaining('Step "report" depends on "parse2", which is not defined.'),
    })
    const cyclic = new Pipeline('cyclic')
    cyclic.stub('build', { after: ['package'] })
    cyclic.stub('test', { after: ['build'] })
    cyclic.stub('package', { after: ['test'] })
    await expect(cyclic.run({ executor: new ParallelExecutor({ backend: 'inline' }) })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_CYCLE',
      message: expect.stringMatching(/build → .* → build/),
    })
    const other = new Pipeline('other')
    const foreign = other.step('x', t.echo(1))
    const mine = new Pipeline('mine')
    mine.step('y', t.echo(foreign))
    await expect(mine.run({ executor: new ParallelExecutor({ backend: 'inline' }) })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_FOREIGN_STEP',
      message: expect.stringContaining('Pipeline "mine" uses step "x" of pipeline "other", which does not contain it.'),
    })
  })

  it('a map step whose function returns something other than a call: at definition, or when its items come from a step', async () => {
    const p = new Pipeline('map-bad')
    expect(() => p.map('doubled', [1, 2], (x: number) => (x * 2) as never)).toThrow(
      expect.objectContaining({ code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining('Map step "doubled": its function must return a call') }),
    )
    const items = p.step('items', t.echo([1, 2]))
    p.map('later', items, (x: number) => (x * 2) as never)
    const run = await p.run({ executor: new ParallelExecutor({ backend: 'inline' }), runLog: false })
    expect(run.steps.find((s) => s.name === 'later')).toMatchObject({
      status: 'failed',
      error: { code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining('for item 0 it returned `2` (number)') },
    })
  })

  it('maxWorkers: 0 and unknown options', () => {
    expect(() => new ParallelExecutor({ maxWorkers: 0 })).toThrow('Expected `maxWorkers` to be an integer >= 1, got `0` (number)')
    expect(() => new ParallelExecutor({ maxWorker: 2 } as never)).toThrow('Did you mean "maxWorkers"?')
    expect(() => new Pipeline('p').stub('s', { afterr: [] } as never)).toThrow('Did you mean "after"?')
  })

  it('a shell step that exits non-zero reports its stderr tail', async () => {
    const p = new Pipeline('shell')
    p.shell('boom', ['node', '-e', 'console.error("line 1"); console.error("disk full"); process.exit(3)'])
    const run = await p.run({ executor: new ParallelExecutor({ backend: 'inline' }) })
    expect(run.status).toBe('failed')
    expect(run.steps[0]!.error).toMatchObject({ code: 'ERR_SPINDLE_SHELL_FAILED', exitCode: 3 })
    expect((run.steps[0]!.error as Error).message).toMatch(/exited with code 3\. Last lines of stderr:\nline 1\ndisk full/)
  })

  it('a step output that cannot be cloned fails that step', async () => {
    const p = new Pipeline('clone')
    p.step('fn', t.returnFunction())
    const run = await p.run({ executor: new ParallelExecutor({ backend: 'inline' }) })
    expect(run.steps[0]).toMatchObject({ status: 'failed', error: { code: 'ERR_SPINDLE_NOT_CLONEABLE' } })
  })
})

describe('Pipeline: recovery steps (onFailure)', () => {
  const inline = () => new ParallelExecutor({ backend: 'inline' })

  it('runs the recovery step only when its step fails; the run fails only if recovery fails', async () => {
    const p = new Pipeline('recover')
    const fallback = p.step('fallback', t.echo('default model'))
    const train = p.step('train', t.fail('diverged'), { onFailure: fallback })
    p.step('deploy', t.echo(train))
    const run = await p.run({ executor: inline(), runLog: false })
    expect(run.status).toBe('succeeded')
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([
      ['fallback', 'succeeded'],
      ['train', 'failed'],
      ['deploy', 'skipped'],
    ])
    expect(run.output(fallback)).toBe('default model')

    const ok = new Pipeline('no-need')
    const spare = ok.step('spare', t.echo('unused'))
    ok.step('work', t.add(1, 1), { onFailure: spare })
    const fine = await ok.run({ executor: inline(), runLog: false })
    expect(fine.steps.map((s) => [s.name, s.status])).toEqual([['spare', 'skipped'], ['work', 'succeeded']])

    const worse = new Pipeline('worse')
    const broken = worse.step('broken', t.fail('also bad'))
    worse.step('work', t.fail('bad'), { onFailure: broken })
    expect((await worse.run({ executor: inline(), runLog: false })).status).toBe('failed')
  })

  it('names an unknown recovery step', async () => {
    const p = new Pipeline('typo')
    p.step('work', t.add(1, 1), { onFailure: 'fallbak' })
    p.stub('fallback')
    await expect(p.run({ executor: inline(), runLog: false })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_UNKNOWN_STEP',
      message: expect.stringContaining('Did you mean "fallback"?'),
    })
  })
})
