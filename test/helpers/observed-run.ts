// A recorded run that has every kind of thing a trace or report shows: dependencies, a retry,
// a parallelMap inside a task, nested parallel branches, a map step, a shell step and a failure.
// The recorder tests, the Chromium check and the README's screenshot all use this one run.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecorder, ParallelExecutor, Pipeline, remote, type RunRecord, type RunRecorder } from 'spindle'
import type * as Tasks from '../fixtures/observe-tasks.mjs'

export const t = remote<typeof Tasks>(new URL('../fixtures/observe-tasks.mjs', import.meta.url))

export interface ObservedRun {
  readonly run: RunRecord
  readonly recorder: RunRecorder
  readonly dir: string
  readonly cleanup: () => void
}

/** Steps, in definition order, with the items and chunks `stats` fans out over. */
export const FAN_ITEMS = 24
export const FAN_CHUNK = 4

export async function observedRun(workers = 3): Promise<ObservedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-observe-'))
  const p = new Pipeline('report-demo')
  const load = p.step('load', t.work('rows', 40))
  const clean = p.step('clean', t.flakyOnce(join(dir, 'flaky'), 25), { retries: 2, retryDelay: 20, after: [load] })
  const stats = p.step('stats', t.fanOut(FAN_ITEMS, FAN_CHUNK, 5), { after: [load] })
  const model = (name: string, ms: number) => {
    const b = new Pipeline(name)
    const fit = b.step('fit', t.work(clean, ms))
    b.step('score', t.work(fit, ms / 2))
    return b
  }
  const models = p.parallel('models', { small: model('small', 30), large: model('large', 60) })
  const shards = p.map('shards', [1, 2, 3, 4], (i) => t.work(i, 15), { after: [load] })
  const summary = p.step('summary', t.work('done', 20), { after: [models, stats, shards] })
  p.step('upload', t.broken(10), { after: [summary] })
  p.shell('notify', ['node', '-e', 'process.stdout.write("sent")'], { after: [summary] })
  const executor = new ParallelExecutor({ maxWorkers: workers })
  const recorder = createRecorder(p, executor)
  const run = await p.run({ executor, onEvent: recorder.onEvent, continueOnError: true, runLog: false })
  return { run, recorder, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
