// A pipeline on a pool whose worker starts slowly: its start-up is a band of its own ("pool
// start") in the trace, the report and the run log, and each step's queued / starting / running
// figures are the same, to the millisecond, in the report's table, the trace's spans and the run
// log. The worker's `--import` module (fixtures/slow-start.mjs) holds it until the test has seen
// the first step's batch sent: a handshake, so the batch waits in the port of a starting worker.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BroadcastChannel } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { Compute, createRecorder, ParallelExecutor, Pipeline, pipelineProgress, remote, renderReport, traceEvents, type PipelineEvent, type TraceEvent } from 'spindle'
import { RunLog } from '../../dist/runlog/run-log.js'
import type * as Tasks from '../fixtures/observe-tasks.mjs'
import { CHANNEL } from '../fixtures/slow-start.mjs'
import { nodeSlices } from '../helpers/trace-schema.js'

const t = remote<typeof Tasks>(new URL('../fixtures/observe-tasks.mjs', import.meta.url))
const SLOW_START = new URL('../fixtures/slow-start.mjs', import.meta.url).href
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

/** ms of the step's spans of `name` on its async track, summed (the trace is in µs from integer ms: exact). */
function spanMs(events: readonly TraceEvent[], track: string, name: string): number {
  let total = 0
  const open: number[] = []
  for (const e of events) {
    if (e.id !== track || e.name !== name) continue
    if (e.ph === 'b') open.push(e.ts)
    if (e.ph === 'e') total += e.ts - open.pop()!
  }
  return total / 1000
}

describe('a run on a pool that is still starting', () => {
  const dirs: string[] = []
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  it('shows the pool\'s start-up as its own band, and one set of step times everywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spindle-pool-start-'))
    dirs.push(dir)
    const channel = new BroadcastChannel(CHANNEL)
    const waiting = new Promise<void>((resolve) => (channel.onmessage = (e) => (e as MessageEvent).data === 'waiting' && resolve()))
    try {
      await using compute = await Compute.start({ workers: 1, execArgv: [...process.execArgv, '--import', SLOW_START] })
      const p = new Pipeline('cold')
      const first = p.step('first', t.work('a', 2))
      p.step('second', t.work(first, 2))
      p.stub('done', { after: ['second'] })
      const executor = new ParallelExecutor({ backend: compute, maxWorkers: 1 })
      const recorder = createRecorder(p, executor)
      const lines: string[] = []
      const progress = pipelineProgress({ live: true, stream: { isTTY: true, columns: 200, write: (text: string) => lines.push(text) } as never })
      let firstRunning!: () => void
      const running = new Promise<void>((resolve) => (firstRunning = resolve))
      const onEvent = (event: PipelineEvent) => {
        recorder.onEvent(event)
        progress(event)
        if (event.type === 'step' && event.step === 'first' && event.status === 'running') firstRunning()
      }
      // Lets the worker start only once the first step's batch is on its way to it, and the clock has moved on.
      const release = (async () => {
        await running
        while (compute.stats().running === 0) await tick()
        const sent = Date.now()
        await waiting
        while (Date.now() <= sent) await tick()
        channel.postMessage('go')
      })()
      const run = await p.run({ executor, onEvent, runLog: dir })
      await release
      expect(run.status).toBe('succeeded')

      // The band: node 0 from the pool's start (within the run) to its `up`, in the record, the run log, the trace and the report.
      expect(run.poolStart.map((b) => b.node)).toEqual([0])
      const band = run.poolStart[0]!
      expect(band.to).toBeGreaterThan(band.from)
      const stored = RunLog.open(dir).read(run.id)
      expect(stored.poolStart).toEqual(run.poolStart)
      const events = traceEvents(recorder.recording)
      const startSlice = nodeSlices(events).find((s) => s.name === 'pool start')!
      expect(startSlice.track).toBe('node 0')
      expect([startSlice.ts, startSlice.dur]).toEqual([(band.from - run.startedAt) * 1000, (band.to - band.from) * 1000])
      const html = renderReport(run, recorder.recording)
      expect(html).toContain('pool start')

      // One account per step: the table, the trace's spans and the run log say the same.
      const rows = JSON.parse(/<script type="application\/json" id="spindle-data">(.*?)<\/script>/s.exec(html)![1]!).rows as Array<Record<string, unknown>>
      const tracks = new Map(events.filter((e) => e.ph === 'b' && e.cat === 'step' && run.steps.some((s) => s.name === e.name)).map((e) => [e.name, e.id!]))
      for (const step of run.steps) {
        const times = step.times!
        expect(times, step.name).toBeDefined()
        const row = rows.find((r) => r.name === step.name)!
        expect({ queued: row.queued, starting: row.starting, running: row.running }, `${step.name}: table`).toEqual(times)
        expect(stored.step(step.name)!.times, `${step.name}: run log`).toEqual(times)
        const track = tracks.get(step.name)!
        const attempt = spanMs(events, track, `${step.name} #1`)
        const [queued, starting] = [spanMs(events, track, 'queued'), spanMs(events, track, 'starting')]
        expect({ queued, starting, running: attempt - queued - starting }, `${step.name}: trace`).toEqual(times)
      }

      // The first step's batch waited for the worker to start: starting, not queued.
      const firstTimes = run.steps.find((s) => s.name === 'first')!.times!
      expect(firstTimes.starting).toBeGreaterThan(0)
      expect(firstTimes.starting).toBeGreaterThan(firstTimes.queued)
      expect(run.steps.find((s) => s.name === 'second')!.times!.starting).toBe(0) // the node was up by then
      const slice = nodeSlices(events).find((s) => s.name === 'first')!
      expect(slice.args!['starting ms'], 'its call on the node waited for the start-up too').toBeGreaterThan(0)
      // The live line said so while it waited.
      expect(lines.some((l) => l.includes('0 running, 1 starting,')), lines.join('\n')).toBe(true)
    } finally {
      channel.close()
    }
  })
})
