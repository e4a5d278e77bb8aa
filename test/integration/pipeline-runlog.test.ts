// Run records on disk, resume, and the step cache, through real pipeline runs.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ParallelExecutor, Pipeline, remote } from 'spindle'
import { cells, tasks as t } from '../helpers/pools.js'
import { RunLog } from '../../src/runlog/run-log.js'

let dir: string
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'spindle-runlog-'))))
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const inline = () => new ParallelExecutor({ backend: 'inline' })

describe('run log', () => {
  it('records every step as it ends, and the run when it finishes', async () => {
    const p = new Pipeline('logged')
    const a = p.step('a', t.add(1, 2))
    p.step('b', t.fail('no'), { after: [a] })
    const run = await p.run({ executor: inline(), runLog: join(dir, 'runs') })
    const stored = RunLog.open(join(dir, 'runs')).read(run.id)
    expect(stored.status).toBe('failed')
    expect(stored.steps.map((s) => [s.name, s.status])).toEqual([['a', 'succeeded'], ['b', 'failed']])
    expect(stored.output('a')).toBe(3)
    expect(stored.step('b')!.error).toMatchObject({ message: 'no', code: 'E_TASK' })
  })

  it('resume reruns only what did not succeed, reusing recorded outputs', async () => {
    const c = cells(4)
    const build = () => {
      const p = new Pipeline('resumable')
      p.step('first', t.add(1, 1), { priority: 1 }) // runs before flaky fails the run (fail-fast starts nothing after)
      const flaky = p.step('flaky', t.flaky(c.buffer, 2, 1)) // fails on its first call only
      p.step('last', t.echo(flaky))
      return p
    }
    const runs = join(dir, 'runs')
    const failed = await build().run({ executor: inline(), runLog: runs })
    expect(failed.status).toBe('failed')
    const resumed = await build().run({ executor: inline(), runLog: runs, resume: failed.id })
    expect(resumed.status).toBe('succeeded')
    expect(resumed.steps.map((s) => [s.name, s.status, s.reused])).toEqual([
      ['first', 'succeeded', 'resume'],
      ['flaky', 'succeeded', undefined],
      ['last', 'succeeded', undefined],
    ])
    expect(c.view[2]).toBe(2) // flaky ran once per run
  })

  it('resume runs a step again, with a warning, when its recorded output changed on disk', async () => {
    const c = cells(4)
    const build = () => {
      const p = new Pipeline('tampered')
      const first = p.step('first', t.flaky(c.buffer, 1, 0), { priority: 1 }) // counts its runs in cell 1
      p.step('second', t.fail('stop'), { after: [first] })
      return { p, first }
    }
    const runs = join(dir, 'runs')
    const failed = await build().p.run({ executor: inline(), runLog: runs })
    // A small output is kept in its record's line (base64): change a byte of it there.
    const journal = join(runs, failed.id, 'steps.jsonl')
    const line = JSON.parse(readFileSync(journal, 'utf8').split('\n').find((l) => l.includes('"name":"first"'))!) as { inline: string }
    const bytes = Buffer.from(line.inline, 'base64')
    bytes[bytes.indexOf('ok after')] = 'O'.charCodeAt(0)
    writeFileSync(journal, readFileSync(journal, 'utf8').replace(line.inline, bytes.toString('base64')))
    const warnings: string[] = []
    const onWarning = (w: Error) => warnings.push(w.message)
    process.on('warning', onWarning)
    try {
      const again = build()
      const resumed = await again.p.run({ executor: inline(), runLog: runs, resume: failed.id })
      expect(resumed.steps[0]).toMatchObject({ name: 'first', status: 'succeeded', reused: undefined })
      expect(resumed.output(again.first)).toBe('ok after 2')
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings.join('\n')).toMatch(/has changed since it was recorded .* The step runs again\./)
    expect(Atomics.load(c.view, 1)).toBe(2)
  })

  it('ranks ready steps by the durations recorded in the pipeline\'s last run', async () => {
    // By step count, the chain head `short` (2 steps to the end) outranks `long` (1 step). Once a
    // run has recorded that `long` takes far longer than both chain steps, `long` goes first.
    const build = () => {
      const p = new Pipeline('weighted')
      const short = p.step('short', t.noop())
      p.step('after-short', t.noop(), { after: [short] })
      p.step('long', t.spin(60))
      return p
    }
    const firstStarted = async () => {
      let first: string | undefined
      const run = await build().run({
        executor: inline(),
        runLog: join(dir, 'runs'),
        onEvent: (e) => void (e.type === 'step' && e.status === 'running' && (first ??= e.step)),
      })
      expect(run.status).toBe('succeeded')
      return first
    }
    expect(await firstStarted()).toBe('short')
    expect(await firstStarted()).toBe('long')
    // Another pipeline's runs are not this one's history.
    await new Pipeline('other').run({ executor: inline(), runLog: join(dir, 'runs') })
    expect(await firstStarted()).toBe('long')
  })

  it('resume works after a cancelled run, and an unknown run id fails before any work', async () => {
    const runs = join(dir, 'runs')
    const p = new Pipeline('cancellable')
    const quick = p.step('quick', t.add(20, 22))
    p.step('slow', t.delayedEcho('done', 60_000), { after: [quick] })
    const controller = new AbortController()
    const cancelled = await p.run({
      executor: inline(),
      runLog: runs,
      signal: controller.signal,
      onEvent: (e) => e.type === 'step' && e.step === 'slow' && e.status === 'running' && controller.abort(new Error('stop')),
    })
    expect(cancelled.status).toBe('cancelled')
    const q = new Pipeline('cancellable')
    const quick2 = q.step('quick', t.add(20, 22))
    q.step('slow', t.echo(quick2))
    const resumed = await q.run({ executor: inline(), runLog: runs, resume: cancelled.id })
    expect(resumed.steps.map((s) => [s.name, s.status, s.reused])).toEqual([['quick', 'succeeded', 'resume'], ['slow', 'succeeded', undefined]])
    await expect(q.run({ executor: inline(), runLog: runs, resume: 'no-such-run' })).rejects.toMatchObject({ code: 'ERR_SPINDLE_UNKNOWN_RUN' })
  })

  it('a pool that fails to start ends the run as failed and leaves no file open', async () => {
    class NoPool extends ParallelExecutor {
      override async open(): Promise<never> {
        throw new Error('no pool today')
      }
    }
    const openFiles = () => readdirSync('/proc/self/fd').length
    const p = new Pipeline('no-pool')
    p.step('a', t.add(1, 2))
    const before = openFiles()
    await expect(p.run({ executor: new NoPool({ backend: 'inline' }), runLog: join(dir, 'runs') })).rejects.toThrow('no pool today')
    expect(openFiles(), 'the journal is closed').toBe(before)
    const [run] = RunLog.open(join(dir, 'runs')).list()
    expect(run).toMatchObject({ pipeline: 'no-pool', status: 'failed' })
  })

  it('a run killed with SIGKILL loses no step that had finished', async () => {
    const runs = join(dir, 'runs')
    const child = spawn(process.execPath, [new URL('../fixtures/pipeline-killed.mjs', import.meta.url).pathname, runs], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const closed = new Promise((resolve) => child.once('close', resolve)) // after its stdout is read to the end
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        // Steps are being reported, in a run of 20,000 that is far from its end.
        if ((out.split('\nrun ').at(-1) ?? '').split('\ndone ').length > 200) resolve()
      })
    })
    child.kill('SIGKILL')
    await closed
    // Every step the child reported done before it died, by run (a line cut by the kill does not count).
    const reported = new Map<string, string[]>()
    for (const line of out.split('\n').slice(0, -1)) {
      if (line.startsWith('run ')) reported.set(line.slice(4), [])
      else if (line.startsWith('done ')) [...reported.values()].at(-1)!.push(line.slice(5))
    }
    const [last, ...earlier] = [...reported.keys()].reverse()
    expect(RunLog.open(runs).read(last!).status).toBe('running') // killed mid-run
    for (const id of earlier) expect(RunLog.open(runs).read(id).status).toBe('succeeded') // on a machine fast enough to finish one
    for (const [id, names] of reported) {
      const recorded = new Set(RunLog.open(runs).read(id).steps.filter((s) => s.status === 'succeeded').map((s) => s.name))
      const lost = names.filter((name) => !recorded.has(name))
      expect(lost, `run ${id}: ${lost.length} of ${names.length} steps reported done are not recorded`).toEqual([])
    }
  })
})

describe('runLog: { keep }', () => {
  it('after each run, keeps only the newest `keep` runs of the pipeline, leaving other pipelines alone', async () => {
    const runs = join(dir, 'runs')
    const other = await new Pipeline('other').run({ executor: inline(), runLog: runs })
    const ids: string[] = []
    for (let i = 0; i < 4; i++) {
      const p = new Pipeline('kept')
      p.step('a', t.add(i, 1))
      ids.push((await p.run({ executor: inline(), runLog: { dir: runs, keep: 2 } })).id)
    }
    expect(RunLog.open(runs).list().map((r) => r.id).sort()).toEqual([other.id, ids[2], ids[3]].sort())
    expect(RunLog.open(runs).read(ids[3]!).output('a')).toBe(4)
  })

  it('is checked before any work, with a clear message', async () => {
    const runs = join(dir, 'runs')
    const p = new Pipeline('checked')
    p.step('a', t.add(1, 1))
    const bad: Array<[unknown, string]> = [
      [{ dir: runs, keep: 0 }, 'Expected `runLog.keep` to be an integer >= 1 (the newest runs of the pipeline to keep), got `0` (number).'],
      [{ dir: runs, keep: 2.5 }, 'got `2.5` (number)'],
      [{ dir: runs, keep: '3' }, 'got `"3"` (string)'],
      [{ dir: runs, kep: 3 }, 'Unknown option "kep" for runLog. Did you mean "keep"?'],
      [{ dir: 7 }, 'Expected `runLog.dir` to be a directory path, got `7` (number)'],
      [7, 'Expected `runLog` to be a directory, `false` or `{ dir, keep }`, got `7` (number)'],
    ]
    for (const [runLog, message] of bad) {
      await expect(p.run({ executor: inline(), runLog: runLog as string })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining(message) })
    }
    expect(RunLog.open(runs).list()).toEqual([]) // nothing ran, nothing was recorded
  })
})

describe('step cache', () => {
  it('hits for the same task, module, arguments and upstream; misses when any changes', async () => {
    const moduleFile = join(dir, 'cached-tasks.mjs')
    writeFileSync(moduleFile, 'export function scale(x, k) { return x * k }\n')
    const m = remote<{ scale(x: number, k: number): number }>(pathToFileURL(moduleFile))
    const cacheDir = join(dir, 'cache')
    const build = (input: number) => {
      const p = new Pipeline('cached')
      const k = p.param('k', 2)
      const base = p.step('base', t.add(input, 0))
      p.step('scaled', m.scale(base, k), { cache: true })
      return p
    }
    const runOnce = async (input: number, params: Record<string, unknown> = {}) => {
      const run = await build(input).run({ executor: inline(), runLog: false, cacheDir, params })
      return run.steps[1]!
    }
    expect((await runOnce(5)).reused).toBeUndefined() // first time: runs
    expect((await runOnce(5)).reused).toBe('cache') // same everything: hit
    expect((await runOnce(6)).reused).toBeUndefined() // changed upstream input
    expect((await runOnce(5, { k: 3 })).reused).toBeUndefined() // changed parameter
    writeFileSync(moduleFile, 'export function scale(x, k) { return x * k + 0 }\n')
    expect((await runOnce(5)).reused).toBeUndefined() // changed module content
    expect((await runOnce(5)).reused).toBe('cache')
  })
})

