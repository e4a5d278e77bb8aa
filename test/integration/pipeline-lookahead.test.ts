// The look-ahead of cheap steps (src/pipeline/slots.ts): steps known to cost microseconds go out
// beyond maxWorkers so the pool can batch them; steps of real or unknown cost never do, and the
// number of calls actually executing at once never exceeds maxWorkers. Counted from events and
// from counters inside the tasks, not timed.
import { describe, expect, it } from 'vitest'
import { createRecorder, ParallelExecutor, Pipeline, type Compute, type PipelineEvent } from 'spindle'
import { cells, tasks as t, usePools } from '../helpers/pools.js'

/** The most steps that were between 'running' and a final status at once. */
function inFlightCounter() {
  let now = 0
  let max = 0
  const onEvent = (event: PipelineEvent) => {
    if (event.type !== 'step') return
    if (event.status === 'running') max = Math.max(max, ++now)
    else if (event.status !== 'pending') now--
  }
  return { onEvent, max: () => max }
}

async function runSteps(compute: Compute, maxWorkers: number, count: number, step: () => ReturnType<typeof t.noop>) {
  const p = new Pipeline('many')
  for (let i = 0; i < count; i++) p.step(`s${i}`, step())
  const counter = inFlightCounter()
  const run = await p.run({ executor: new ParallelExecutor({ backend: compute, maxWorkers }), runLog: false, onEvent: counter.onEvent })
  expect(run.status).toBe('succeeded')
  return counter.max()
}

describe('look-ahead of cheap steps', () => {
  const start = usePools()

  it('lets measured-cheap steps out beyond maxWorkers on threads, so they are batched', async () => {
    const pool = await start({ workers: 2 })
    await runSteps(pool, 2, 50, () => t.noop()) // the pool learns what a no-op costs
    expect(await runSteps(pool, 2, 2000, () => t.noop())).toBeGreaterThan(2)
  })

  it('does the same on the inline backend with maxWorkers 1', async () => {
    const pool = await start({ backend: 'inline' })
    await runSteps(pool, 1, 50, () => t.noop())
    expect(await runSteps(pool, 1, 2000, () => t.noop())).toBeGreaterThan(1)
  })

  it('sends the steps readied by a batch together: many cheap steps per message on inline', async () => {
    const pool = await start({ backend: 'inline' })
    await runSteps(pool, 1, 50, () => t.noop())
    const p = new Pipeline('batched')
    for (let i = 0; i < 2000; i++) p.step(`s${i}`, t.noop())
    const executor = new ParallelExecutor({ backend: pool, maxWorkers: 1 })
    const recorder = createRecorder(p, executor)
    const run = await p.run({ executor, runLog: false, onEvent: recorder.onEvent })
    expect(run.status).toBe('succeeded')
    // Each call knows the size of the batch it went in: 1/size of a message per call.
    const calls = recorder.recording.calls.filter((c) => c.runs.length > 0)
    expect(calls).toHaveLength(2000)
    const messages = calls.reduce((sum, c) => sum + 1 / c.runs[0]!.batch, 0)
    expect(messages).toBeLessThan(2000 / 16) // about 55 here; one message per step before
  })

  it('never starts steps of unknown or real cost beyond maxWorkers', async () => {
    const pool = await start({ workers: 2 })
    const c = cells(2)
    // Unknown cost on the first steps, then measured at ~3 ms per call: no look-ahead either way.
    expect(await runSteps(pool, 2, 12, () => t.countConcurrent(c.buffer, 3) as never)).toBeLessThanOrEqual(2)
    expect(c.view[1], 'calls executing at once').toBeLessThanOrEqual(2)
  })

  it('never runs more than maxWorkers at once on a pool with more threads than that', async () => {
    const pool = await start({ workers: 2 })
    const c = cells(2)
    const cheap = () => t.countConcurrent(c.buffer, 0) as never
    await runSteps(pool, 1, 50, cheap) // measured cheap: the look-ahead would apply if the pool bounded itself
    expect(await runSteps(pool, 1, 500, cheap)).toBe(1)
    expect(c.view[1], 'calls executing at once').toBe(1)
  })
})
