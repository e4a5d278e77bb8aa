// The run's journal: step records written by group commit, reported durable only once synced,
// a failed write reported as such, and runs of the version 1 layout still read.
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serialize } from 'node:v8'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stepFileBase } from '../../src/runlog/records.js'
import { RunLog, type StepRecordData } from '../../src/runlog/run-log.js'
import { caught } from '../helpers/testing.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-journal-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const step = (name: string, fields: Partial<StepRecordData> = {}): StepRecordData => ({
  name, kind: 'call', status: 'succeeded', attempts: 1, startedAt: 1_000, endedAt: 2_000, error: undefined, blockedBy: undefined, ...fields,
})

describe('group commit', () => {
  it('steps recorded together share one batch; each is reported only once it can be read back', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: [] })
    const reported: number[] = []
    let burst: number | undefined // which callback began the synchronous run of callbacks under way
    const onDisk: boolean[] = []
    for (let i = 0; i < 1000; i++) {
      w.step(step(`s${i}`), { value: i })
      w.afterDurable(() => {
        if (burst === undefined) {
          burst = i
          queueMicrotask(() => (burst = undefined))
          onDisk.push(RunLog.open(dir).read('r1').steps.length === 1000)
        }
        reported.push(burst)
      })
    }
    expect(reported).toEqual([]) // nothing is on disk yet, so nothing is reported
    await w.flush()
    expect(reported).toEqual(Array.from({ length: 1000 }, () => 0)) // all in one burst: one batch
    expect(onDisk).toEqual([true]) // and every record was readable when it came
    let now = false
    w.afterDurable(() => (now = true))
    expect(now).toBe(true) // nothing waiting: at once
  })

  it('steps recorded while a batch is being written go in the next one; callbacks keep their order across batches', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: [] })
    const order: string[] = []
    w.step(step('a'))
    w.afterDurable(() => order.push('a'))
    await new Promise((resolve) => setImmediate(resolve)) // the batch of `a` is on its way
    w.step(step('b'))
    w.afterDurable(() => order.push('b'))
    w.afterDurable(() => order.push('after b'))
    w.step(step('c'))
    w.afterDurable(() => order.push('c'))
    await w.flush()
    expect(order).toEqual(['a', 'b', 'after b', 'c'])
    expect(RunLog.open(dir).read('r1').steps.map((s) => s.name)).toEqual(['a', 'b', 'c'])
  })

  it('a write that fails reports nothing durable, and says so on the next step(), flush() and finish()', async () => {
    const w = RunLog.open(dir).begin({ id: 'r1', pipeline: 'p', startedAt: 1, steps: [] })
    rmSync(join(dir, 'r1', 'outputs'), { recursive: true })
    writeFileSync(join(dir, 'r1', 'outputs'), '') // a large output cannot be placed there
    let reported = false
    w.step(step('big'), { value: new Float64Array(1024) })
    w.afterDurable(() => (reported = true))
    const failure = await w.flush().then(() => undefined, (error: unknown) => error)
    expect(failure).toMatchObject({ code: 'ERR_SPINDLE_RUN_LOG_WRITE', message: expect.stringContaining(`Cannot write the run log ${join(dir, 'r1', 'steps.jsonl')}`) })
    expect(reported).toBe(false)
    w.afterDurable(() => (reported = true))
    expect(reported).toBe(false)
    expect(caught(() => w.step(step('next'))).code).toBe('ERR_SPINDLE_RUN_LOG_WRITE')
    await expect(w.finish('succeeded', 2)).rejects.toMatchObject({ code: 'ERR_SPINDLE_RUN_LOG_WRITE' })
    expect(RunLog.open(dir).read('r1')).toMatchObject({ status: 'running', steps: [] })
  })
})

describe('version 1 runs (a file per step)', () => {
  it('are read beside version 2 runs, their outputs checked against their hashes', async () => {
    const current = RunLog.open(dir).begin({ id: 'new', pipeline: 'p', startedAt: 3, steps: ['a'] })
    current.step(step('a'), { value: 'journal' })
    await current.finish('succeeded', 4)
    const runDir = join(dir, 'old')
    mkdirSync(join(runDir, 'steps'), { recursive: true })
    writeFileSync(join(runDir, 'run.json'), JSON.stringify({ version: 1, id: 'old', pipeline: 'p', status: 'failed', startedAt: 1, endedAt: 2, steps: ['a', 'b'] }))
    const record = (name: string, bytes: Buffer) => {
      const hash = createHash('sha256').update(bytes).digest('hex')
      writeFileSync(join(runDir, 'steps', `${stepFileBase(name)}.json`), JSON.stringify({ version: 1, name, kind: 'call', status: 'succeeded', attempts: 1, output: true, outputHash: hash }, null, 2))
      writeFileSync(join(runDir, 'steps', `${stepFileBase(name)}.out`), bytes)
    }
    record('a', serialize({ rows: [1, 2] }))
    record('b', serialize('model'))
    writeFileSync(join(runDir, 'steps', `${stepFileBase('b')}.out`), serialize('mode!'))
    const run = RunLog.open(dir).read('old')
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([['a', 'succeeded'], ['b', 'succeeded']])
    expect(run.output('a')).toEqual({ rows: [1, 2] })
    expect(caught(() => run.output('b'))).toMatchObject({ code: 'ERR_SPINDLE_CORRUPT_RUN', message: expect.stringContaining('has changed since it was recorded') })
    expect(RunLog.open(dir).read('new').output('a')).toBe('journal')
    expect(RunLog.open(dir).list()).toMatchObject([{ id: 'new', status: 'succeeded' }, { id: 'old', status: 'failed' }])
  })
})
