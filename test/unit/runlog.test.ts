import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { SpindleError, TimeoutError } from '../../src/errors.js'
import { writeFileAtomic } from '../../src/runlog/atomic-file.js'
import { RunLog, UnknownRunError, type StepRecordData } from '../../src/runlog/run-log.js'
import { caught } from '../helpers/testing.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-runlog-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const step = (name: string, fields: Partial<StepRecordData> = {}): StepRecordData => ({
  name,
  kind: 'call',
  status: 'succeeded',
  attempts: 1,
  startedAt: 1_000,
  endedAt: 2_000,
  error: undefined,
  blockedBy: undefined,
  ...fields,
})

/** Every file under `root`, relative, recursively. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
}


describe('RunLog records', () => {
  it('begin() writes run.json with status running and the step names', () => {
    const log = RunLog.open(dir)
    log.begin({ id: 'r1', pipeline: 'etl', startedAt: 5, steps: ['load', 'train'] })
    const file = JSON.parse(readFileSync(join(dir, 'r1', 'run.json'), 'utf8')) as Record<string, unknown>
    expect(file).toMatchObject({ id: 'r1', pipeline: 'etl', startedAt: 5, status: 'running', steps: ['load', 'train'] })
    const run = log.read('r1')
    expect(run).toMatchObject({ id: 'r1', pipeline: 'etl', status: 'running', startedAt: 5, endedAt: undefined })
    expect(run.stepNames).toEqual(['load', 'train'])
    expect(run.steps).toEqual([])
  })

  it('round-trips step records, errors through the codec and outputs through v8 serialization', async () => {
    const log = RunLog.open(dir)
    const w = log.begin({ id: 'r1', pipeline: 'etl', startedAt: 1, steps: ['load', 'feat', 'train', 'report'] })
    const output = {
      table: new Map<string, unknown>([['a', 1], ['b', new Set([1n, 2n])]]),
      weights: new Float64Array([0.5, -0, NaN]),
      raw: Buffer.from('bytes'),
      at: new Date(7),
    }
    w.step(step('load', { cacheKey: 'a'.repeat(64) }), { value: output })
    const thrown = Object.assign(new Error('disk full', { cause: new TimeoutError('too slow', 50) }), { code: 'ENOSPC', path: '/x' })
    w.step(step('feat', { status: 'failed', attempts: 3, error: thrown }))
    w.step(step('train', { status: 'skipped', startedAt: undefined, endedAt: undefined, blockedBy: 'feat' }))
    await w.finish('failed', 9)

    const run = RunLog.open(dir).read('r1')
    expect(run).toMatchObject({ status: 'failed', endedAt: 9 })
    expect(run.steps.map((s) => [s.name, s.status, s.hasOutput])).toEqual([
      ['load', 'succeeded', true],
      ['feat', 'failed', false],
      ['train', 'skipped', false],
    ])
    expect(run.step('load')).toMatchObject({ kind: 'call', attempts: 1, startedAt: 1_000, endedAt: 2_000, cacheKey: 'a'.repeat(64) })
    const error = run.step('feat')!.error as Error & { code: string; path: string; cause: TimeoutError }
    expect(error).toBeInstanceOf(Error)
    expect([error.name, error.message, error.code, error.path]).toEqual(['Error', 'disk full', 'ENOSPC', '/x'])
    expect(error.cause).toBeInstanceOf(TimeoutError)
    expect(error.cause.code).toBe('ERR_SPINDLE_TIMEOUT')
    expect(run.step('train')).toMatchObject({ blockedBy: 'feat', startedAt: undefined, error: undefined })

    const back = run.output('load') as typeof output
    expect(back).toEqual(output)
    expect(back.table).toBeInstanceOf(Map)
    expect(back.weights).toBeInstanceOf(Float64Array)
    expect(Object.is(back.weights[1], -0)).toBe(true)
    expect(Buffer.isBuffer(back.raw)).toBe(true)
    expect(run.output('load')).not.toBe(back) // deserialized afresh each time
  })

  it('a stored output that changed on disk, cannot be deserialized or is a directory is a spindle error, never a wrong value', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: ['small', 'a', 'b', 'c'] })
    w.step(step('small'), { value: { label: 'trained-model' } }) // small: kept in its journal line
    // Large (over 4 KiB): a file each, named by its content hash.
    for (const name of ['a', 'b', 'c']) w.step(step(name), { value: { label: `trained-model-${name}`, weights: new Float64Array(1024) } })
    await w.flush()
    const journal = join(dir, 'r1', 'steps.jsonl')
    const line = JSON.parse(readFileSync(journal, 'utf8').split('\n')[0]!) as { inline: string }
    const inline = Buffer.from(line.inline, 'base64')
    inline[inline.indexOf('trained')] = 'T'.charCodeAt(0) // valid v8 data, another value
    writeFileSync(journal, readFileSync(journal, 'utf8').replace(line.inline, inline.toString('base64')))
    const read = RunLog.open(dir).read('r1')
    const out = (name: string) => join(dir, 'r1', 'outputs', `${read.step(name)!.outputHash}.v8`)
    const bytes = readFileSync(out('a'))
    bytes[bytes.indexOf('trained')] = 'T'.charCodeAt(0)
    writeFileSync(out('a'), bytes)
    writeFileSync(out('b'), 'garbage')
    rmSync(out('c'))
    mkdirSync(out('c'))
    const run = RunLog.open(dir).read('r1')
    for (const name of ['small', 'a']) {
      expect(caught(() => run.output(name))).toMatchObject({ code: 'ERR_SPINDLE_CORRUPT_RUN', message: expect.stringContaining('has changed since it was recorded') })
    }
    expect(caught(() => run.output('b'))).toMatchObject({ code: 'ERR_SPINDLE_CORRUPT_RUN' })
    expect(caught(() => run.output('c'))).toMatchObject({ code: 'ERR_SPINDLE_CORRUPT_RUN', message: expect.stringContaining('cannot be read (EISDIR)') })
  })

  it('says why a step has no output', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: ['a', 'b', 'c'] })
    w.step(step('a', { status: 'failed', error: new Error('x') }))
    w.step(step('b'), { value: { predict: () => 1 } })
    w.step(step('c'))
    await w.flush()
    const run = RunLog.open(dir).read('r1')
    expect(caught(() => run.output('a'))).toMatchObject({ code: 'ERR_SPINDLE_NO_OUTPUT', message: expect.stringContaining('it failed') })
    expect(run.step('b')!.outputError).toMatch(/could not be cloned/)
    expect(caught(() => run.output('b')).message).toMatch(/Step "b" of run "r1" has no stored output: its output could not be serialized/)
    expect(caught(() => run.output('c')).message).toMatch(/succeeded without an output/)
    const unknown = caught(() => run.output('zzz'))
    expect(unknown.code).toBe('ERR_SPINDLE_UNKNOWN_STEP')
    expect(unknown.message).toBe('Run "r1" has no recorded step "zzz". Recorded steps: a, b, c.')
  })

  it('keeps any step name, and names no file after one', async () => {
    const names = ['../../etc/passwd', 'a/b\\c', 'Load', 'load', '.', '..', '', 'con', 'ünï cødé 🚀', 'x'.repeat(400), 'x'.repeat(401), 'a*b?c:"d"<e>|f', 'line\nbreak']
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: names })
    names.forEach((name, i) => w.step(step(name, { attempts: i }), { value: i }))
    await w.flush()
    expect(filesUnder(dir).sort()).toEqual([join('r1', 'run.json'), join('r1', 'steps.jsonl')])

    const run = RunLog.open(dir).read('r1')
    expect(run.steps.map((s) => s.name)).toEqual(names)
    names.forEach((name, i) => {
      expect(run.step(name)!.attempts).toBe(i)
      expect(run.output(name)).toBe(i)
    })
  })

  it('a step recorded again replaces its record; nothing can be recorded after finish()', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: ['a'] })
    w.step(step('a', { status: 'running', endedAt: undefined }))
    await w.flush()
    expect(RunLog.open(dir).read('r1').step('a')!.status).toBe('running')
    w.step(step('a', { attempts: 2 }), { value: 'done' })
    await w.flush()
    const run = RunLog.open(dir).read('r1')
    expect(run.steps).toHaveLength(1)
    expect(run.step('a')).toMatchObject({ status: 'succeeded', attempts: 2 })
    await w.finish('succeeded', 3)
    expect(caught(() => w.step(step('a'))).code).toBe('ERR_SPINDLE_CLOSED')
    await expect(w.finish('failed', 4)).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
  })

  it('a run whose process died reads back as running, with the steps it recorded', async () => {
    const w = RunLog.open(dir).begin({ id: 'died', pipeline: 'p', startedAt: 1, steps: ['a', 'b', 'c'] })
    w.step(step('a'), { value: [1, 2] })
    w.step(step('b', { status: 'running', endedAt: undefined }))
    await w.flush()
    // No finish(): the writer is dropped, as when its process is killed.
    const run = RunLog.open(dir).read('died')
    expect(run.status).toBe('running')
    expect(run.endedAt).toBeUndefined()
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([['a', 'succeeded'], ['b', 'running']])
    expect(run.output('a')).toEqual([1, 2])
    expect(run.step('c')).toBeUndefined()
    expect(RunLog.open(dir).list()[0]!.steps).toMatchObject({ succeeded: 1, running: 1, pending: 1 })
  })

  it('rejects a run id that exists or cannot name a directory', () => {
    const log = RunLog.open(dir)
    log.begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: [] })
    const again = caught(() => log.begin({ id: 'r1', pipeline: 'p', startedAt: 2, steps: [] }))
    expect(again.code).toBe('ERR_SPINDLE_RUN_EXISTS')
    expect(again.message).toBe(`Run "r1" already exists in ${dir}; each run needs a new id.`)
    for (const id of ['../escape', 'a/b', '.hidden', '']) {
      expect(caught(() => log.begin({ id, pipeline: 'p', startedAt: 1, steps: [] })).code).toBe('ERR_SPINDLE_INVALID_ARGUMENT')
    }
    expect(existsSync(join(dir, '..', 'escape'))).toBe(false)
  })
})

describe('RunLog.read() of an unknown run and list()', () => {
  it('an unknown id lists the most recent ids, newest first', () => {
    const log = RunLog.open(dir)
    for (let i = 1; i <= 12; i++) log.begin({ id: `run-${String(i).padStart(2, '0')}`, pipeline: 'p', startedAt: i * 100, steps: [] })
    const error = caught(() => log.read('run-99'))
    expect(error).toBeInstanceOf(UnknownRunError)
    expect(error.code).toBe('ERR_SPINDLE_UNKNOWN_RUN')
    const recent = Array.from({ length: 10 }, (_, i) => `run-${String(12 - i).padStart(2, '0')}`)
    expect((error as UnknownRunError).recent).toEqual(recent)
    expect(error.message).toBe(`No run "run-99" in ${dir}. Most recent runs, newest first: ${recent.join(', ')}.`)
    // A path, not an id, is never looked up.
    expect(caught(() => log.read('../run-01')).code).toBe('ERR_SPINDLE_UNKNOWN_RUN')
  })

  it('an unknown id in an empty or missing log says there are no runs', () => {
    const missing = join(dir, 'nothing-here')
    const error = caught(() => RunLog.open(missing).read('x'))
    expect(error.message).toBe(`No run "x" in ${missing}: no runs are recorded there.`)
    expect(RunLog.open(missing).list()).toEqual([])
  })

  it('lists runs newest first, with steps counted by status', async () => {
    const log = RunLog.open(dir)
    const old = log.begin({ id: 'old', pipeline: 'etl', startedAt: 100, steps: ['a', 'b', 'c'] })
    old.step(step('a'))
    old.step(step('b', { status: 'failed', error: new Error('no') }))
    old.step(step('c', { status: 'skipped', blockedBy: 'b' }))
    await old.finish('failed', 150)
    const live = log.begin({ id: 'live', pipeline: 'train', startedAt: 300, steps: ['x', 'y'] })
    live.step(step('x'))
    await live.flush()
    await log.begin({ id: 'mid', pipeline: 'etl', startedAt: 200, steps: ['only'] }).finish('cancelled', 250)
    mkdirSync(join(dir, 'not-a-run')) // a begin() killed before run.json
    mkdirSync(join(dir, '.scratch'))

    const zero = { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 }
    expect(log.list()).toEqual([
      { id: 'live', pipeline: 'train', status: 'running', startedAt: 300, endedAt: undefined, steps: { ...zero, succeeded: 1, pending: 1 } },
      { id: 'mid', pipeline: 'etl', status: 'cancelled', startedAt: 200, endedAt: 250, steps: { ...zero, pending: 1 } },
      { id: 'old', pipeline: 'etl', status: 'failed', startedAt: 100, endedAt: 150, steps: { ...zero, succeeded: 1, failed: 1, skipped: 1 } },
    ])
  })

  it('latest(pipeline) reads runs newest first by id (ids begin with their start time) and stops at the first of that pipeline', async () => {
    const log = RunLog.open(dir)
    await log.begin({ id: '2026-01-01T00-00-00-000Z-aaaa', pipeline: 'etl', startedAt: 100, steps: [] }).finish('succeeded', 110)
    await log.begin({ id: '2026-01-02T00-00-00-000Z-bbbb', pipeline: 'etl', startedAt: 200, steps: [] }).finish('failed', 210)
    log.begin({ id: '2026-01-03T00-00-00-000Z-cccc', pipeline: 'train', startedAt: 300, steps: [] })
    mkdirSync(join(dir, '2026-01-04T00-00-00-000Z-dddd')) // a begin() killed before run.json
    writeFileSync(join(dir, '2026-01-04T00-00-00-000Z-dddd', 'run.json'), '{"id": "dam') // damaged: skipped
    expect(log.latest('etl')).toMatchObject({ id: '2026-01-02T00-00-00-000Z-bbbb', status: 'failed' })
    expect(log.latest('train')).toMatchObject({ id: '2026-01-03T00-00-00-000Z-cccc', status: 'running' })
    expect(log.latest('nope')).toBeUndefined()
    expect(RunLog.open(join(dir, 'missing')).latest('etl')).toBeUndefined()
  })

  it('a damaged step record is reported by read() and does not hide other runs from list()', async () => {
    const log = RunLog.open(dir)
    log.begin({ id: 'good', pipeline: 'p', startedAt: 1, steps: [] })
    const bad = log.begin({ id: 'bad', pipeline: 'p', startedAt: 2, steps: ['a', 'b'] })
    bad.step(step('a'))
    bad.step(step('b'))
    await bad.flush()
    const journal = join(dir, 'bad', 'steps.jsonl')
    const [, second] = readFileSync(journal, 'utf8').split('\n')
    writeFileSync(journal, `{"name": "a", "sta\n${second}\n`) // a whole line that is not a record, before a good one
    const error = caught(() => log.read('bad'))
    expect(error.code).toBe('ERR_SPINDLE_CORRUPT_RUN')
    expect(error.message).toContain(`${journal} (line 1)`)
    expect(log.list().map((r) => r.id)).toEqual(['good'])
  })
})

describe('atomic writes', () => {
  it('leave no temporary files behind', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: [] })
    // Over 4 KiB, so each distinct value gets a file; equal values share one.
    for (let i = 0; i < 50; i++) w.step(step(`s${i % 10}`, { attempts: i }), { value: new Uint8Array(5000).fill(i % 10) })
    await w.finish('succeeded', 2)
    const files = filesUnder(dir)
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(files.filter((f) => f.startsWith(join('r1', 'outputs')))).toHaveLength(10)
    expect(files).toHaveLength(2 + 10) // run.json, steps.jsonl, and the outputs
  })

  it('a writer killed mid-write leaves the records before it, and readers ignore its *.tmp and a torn last line', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: ['a'] })
    w.step(step('a', { attempts: 1 }), { value: 'first' })
    await w.flush()
    const runDir = join(dir, 'r1')
    // What a kill leaves: half-written temporary files, and a batch cut short in the journal.
    writeFileSync(join(runDir, 'outputs', `.${'0'.repeat(64)}.v8.0123456789ab.tmp`), Buffer.from([0xff, 0x0d]))
    writeFileSync(join(runDir, '.run.json.0123456789ab.tmp'), '{"id":')
    const whole = readFileSync(join(runDir, 'steps.jsonl'))
    writeFileSync(join(runDir, 'steps.jsonl'), `${whole.toString('utf8')}{"version":2,"name":"a","status":"fai`)
    const run = RunLog.open(dir).read('r1')
    expect(run.steps).toHaveLength(1)
    expect(run.step('a')).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect(run.output('a')).toBe('first')
    expect(RunLog.open(dir).list()).toHaveLength(1)
    // A power cut can leave zeros where the last batch was going.
    writeFileSync(join(runDir, 'steps.jsonl'), Buffer.concat([whole, Buffer.alloc(300), Buffer.from('\n'), Buffer.alloc(20)]))
    expect(RunLog.open(dir).read('r1').step('a')).toMatchObject({ status: 'succeeded' })
  })

  it('a failed rename removes the temporary file and leaves the target as it was', () => {
    const target = join(dir, 'target')
    mkdirSync(join(target, 'inside'), { recursive: true }) // rename over a non-empty directory fails
    expect(() => writeFileAtomic(target, 'data')).toThrow()
    expect(readdirSync(dir)).toEqual(['target'])
    expect(readdirSync(target)).toEqual(['inside'])

    const file = join(dir, 'file')
    writeFileAtomic(file, 'old')
    writeFileAtomic(file, 'new content')
    expect(readFileSync(file, 'utf8')).toBe('new content')
    expect(readdirSync(dir).sort()).toEqual(['file', 'target'])
  })
})

describe('a writer killed with SIGKILL', () => {
  const fixture = fileURLToPath(new URL('../fixtures/runlog-writer.mjs', import.meta.url))
  const built = fileURLToPath(new URL('../../dist/runlog/run-log.js', import.meta.url))

  it('leaves every recorded step whole, and at least as many as it reported', async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first.`)
    const child = spawn(process.execPath, [fixture, dir, 'killed'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    )
    // Wait for the child to say it has recorded a step (not a sleep), then let it write for ~50 ms.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes('\n')) resolve()
      })
      void closed.then(({ code, signal }) => reject(new Error(`writer exited early (code ${code}, signal ${signal}):\n${stderr}`)))
    })
    await delay(50)
    child.kill('SIGKILL')
    const { signal } = await closed
    expect(signal).toBe('SIGKILL')

    // Every line was printed after its step was on disk, so the last one is a lower bound.
    const lines = stdout.split('\n').slice(0, -1) // a line cut by the kill does not count
    const reported = Number(lines.at(-1))
    expect(reported).toBeGreaterThan(0)

    const run = RunLog.open(dir).read('killed') // every step file present parses
    const succeeded = run.steps.filter((s) => s.status === 'succeeded')
    expect(run.status).toBe('running')
    expect(succeeded.length, `reported ${reported}, recorded ${run.steps.length}`).toBeGreaterThanOrEqual(reported)
    expect(run.steps.length - succeeded.length).toBeLessThanOrEqual(1) // at most the step being written
    for (const name of ['step 0', `step ${reported - 1}`, ...succeeded.slice(-1).map((s) => s.name)]) {
      const output = run.output(name) as Map<string, unknown>
      expect(output.get('label')).toBe('x'.repeat(10_000))
      expect((output.get('weights') as Float64Array).length).toBe(16_384)
    }
    console.log(`kill -9 test: ${reported} steps reported, ${succeeded.length} recorded as succeeded, ${run.steps.length} in all`)
  })
})
