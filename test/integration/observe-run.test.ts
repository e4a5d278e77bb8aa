// Recording real runs on worker threads: what the trace and the report say about a run with a
// retry, a parallelMap inside a task, a map step, nested branches, a shell step and a failure;
// queue waits on a busy pool; events alone when no executor is given.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Compute, createRecorder, gather, ParallelExecutor, Pipeline, remote, renderReport, traceEvents, type PipelineEvent, type TraceEvent } from 'spindle'
import type * as ActorTasks from '../fixtures/actor-tasks.mjs'
// Internal, from the same built files as 'spindle': how a recorder watches a pool.
import { stepRunner } from '../../dist/compute/compute.js'
import { CallLog } from '../../dist/observe/recording.js'
import { tasks } from '../helpers/pools.js'
import { FAN_CHUNK, FAN_ITEMS, observedRun, t, type ObservedRun } from '../helpers/observed-run.js'
import { expectValidTrace, nodeSlices } from '../helpers/trace-schema.js'

const actors = remote<typeof ActorTasks>(new URL('../fixtures/actor-tasks.mjs', import.meta.url))

describe('a recorded run', () => {
  let observed: ObservedRun
  let events: TraceEvent[]
  beforeAll(async () => {
    observed = await observedRun()
    events = traceEvents(observed.recorder.recording)
  })
  afterAll(() => observed?.cleanup())

  it('ran as the fixture says (one retry, one failure)', () => {
    expect(observed.run.status).toBe('failed')
    const steps = Object.fromEntries(observed.run.steps.map((s) => [s.name, [s.status, s.attempts]]))
    expect(steps).toMatchObject({ clean: ['succeeded', 2], upload: ['failed', 1], notify: ['succeeded', 1], 'models/large/score': ['succeeded', 1] })
  })

  it('has a valid trace, written to a file as { traceEvents }', async () => {
    expectValidTrace(events)
    const file = join(observed.dir, 'out', 'trace.json')
    await observed.recorder.writeTrace(file)
    expect(JSON.parse(readFileSync(file, 'utf8')).traceEvents).toEqual(events)
  })

  it('puts every call on the track of the node it ran on, named after the node', () => {
    const slices = nodeSlices(events)
    const nodes = new Set(observed.run.steps.flatMap((s) => (s.node === undefined ? [] : [s.node])))
    for (const node of nodes) expect(slices.some((s) => s.track === `node ${node}`), `a track for node ${node}`).toBe(true)
    for (const s of slices) expect(s.track).toMatch(/^node \d+( \(\d+\))?$/)
    // A step's call is on the track of the node its record names.
    for (const step of observed.run.steps.filter((s) => s.kind === 'call')) {
      const own = slices.filter((s) => s.cat === 'step' && s.name === step.name)
      expect(own.length, step.name).toBe(step.attempts)
      expect(own.at(-1)!.track.startsWith(`node ${step.node}`), `${step.name} ran on node ${step.node}`).toBe(true)
    }
  })

  it('shows the retry: a failed then a succeeded call, attempts on the step\'s track, the delay between', () => {
    const calls = nodeSlices(events).filter((s) => s.name === 'clean').sort((a, b) => a.ts - b.ts)
    expect(calls.map((s) => s.args!.status)).toEqual(['failed', 'succeeded'])
    expect(calls[0]!.args!.error).toBe('Error: flaky: first run fails')
    const track = events.find((e) => e.ph === 'b' && e.name === 'clean')!
    expect(track.args).toEqual({ kind: 'call', status: 'succeeded', attempts: 2 })
    // ('waiting to start', 'queued' and 'starting' appear when the step started, or its call reached a node (or that node came up),
    // a millisecond or more after `load` ended, or after the attempt began.)
    const waits = new Set(['waiting to start', 'queued', 'starting'])
    const attempts = events.filter((e) => e.ph === 'b' && e.id === track.id && e !== track && !waits.has(e.name))
    expect(attempts.map((e) => [e.name, e.args?.status ?? null])).toEqual([
      ['clean #1', 'retried'],
      ['retry delay', null], // retryDelay is 20 ms
      ['clean #2', 'succeeded'],
    ])
    const delayBegin = attempts.find((e) => e.name === 'retry delay')!
    const delayEnd = events.find((e) => e.ph === 'e' && e.name === 'retry delay' && e.id === delayBegin.id)!
    expect(delayEnd.ts - delayBegin.ts, 'retry delay in µs').toBeGreaterThanOrEqual(15_000)
  })

  it('shows the chunks a task fanned out, attributed to its step, covering every item once', () => {
    const chunks = nodeSlices(events).filter((s) => s.cat === 'chunk')
    expect(chunks.map((c) => c.args!.step)).toEqual(chunks.map(() => 'stats'))
    const ranges = chunks.map((c) => c.name.match(/^chunk (\d+)\.\.(\d+)$/)!.slice(1).map(Number)).sort((a, b) => a[0]! - b[0]!)
    expect(ranges).toEqual(Array.from({ length: FAN_ITEMS / FAN_CHUNK }, (_, i) => [i * FAN_CHUNK, (i + 1) * FAN_CHUNK]))
  })

  it('shows a map step\'s items, nested branches\' steps, and a shell step off the pool', () => {
    const names = nodeSlices(events).map((s) => s.name)
    for (const name of ['shards[0]', 'shards[1]', 'shards[2]', 'shards[3]', 'models/small/fit', 'models/large/score']) expect(names).toContain(name)
    expect(names.some((n) => n.startsWith('notify'))).toBe(false)
    const asyncNames = events.filter((e) => e.ph === 'b').map((e) => e.name)
    for (const name of ['notify #1', 'models #1', 'shards #1', 'upload #1', 'models/small/score #1']) expect(asyncNames).toContain(name)
    const upload = events.find((e) => e.ph === 'b' && e.name === 'upload #1')!
    expect(upload.args).toMatchObject({ status: 'failed', error: 'Error: upload refused: quota exceeded' })
  })

  it('reports the run: graph, timeline, table data and errors, with nothing to fetch', () => {
    const html = renderReport(observed.run, observed.recorder.recording)
    expect(html).not.toMatch(/https?:\/\//)
    expect(html).not.toMatch(/\b(src|href)=/)
    expect(html).not.toMatch(/<link\b|@import|url\((?!#)/)
    const graph = html.slice(html.indexOf('<svg class="graph"'), html.indexOf('</svg>', html.indexOf('<svg class="graph"')))
    for (const step of observed.run.steps) expect(graph, step.name).toContain(`data-step="${step.name}"`)
    expect(graph).toContain('class="branch-name">small<')
    expect(graph).toContain('class="branch-name">large<')
    const gantt = html.slice(html.indexOf('<svg class="gantt"'))
    expect(gantt).toContain('data-step="clean"')
    expect(gantt).toContain('data-step="stats"')
    expect(gantt).toContain('fill="#f0a030"') // the retried attempt
    const data = JSON.parse(html.match(/<script type="application\/json" id="spindle-data">(.*?)<\/script>/s)![1]!)
    expect(data.rows.map((r: { name: string }) => r.name)).toEqual(observed.run.steps.map((s) => s.name))
    expect(data.rows.find((r: { name: string }) => r.name === 'clean')).toMatchObject({ status: 'succeeded', attempts: 2, kind: 'call' })
    const errors = html.slice(html.indexOf('<section id="errors">'))
    expect(errors).toContain('upload refused: quota exceeded')
    expect(errors).toContain('Caused by: Error: HTTP 507')
    expect(errors).toContain('code: &#34;E_QUOTA&#34;')
    expect(errors).toContain('attempt 1 threw (retried)')
    expect(errors).toMatch(/at broken \(.*observe-tasks\.mjs/) // the stack
  })
})

describe('recording', () => {
  it('shows queue waits: two steps on a one-node pool run one after the other', async () => {
    await using compute = await Compute.start({ workers: 1 })
    // Warm: the task module is loaded. (Batches that arrive while it loads are answered together
    // once it has, so their slices would be placed by their answer, not by when they ran.)
    await compute.run(t.work(0, 0))
    const p = new Pipeline('busy')
    p.step('first', t.work(1, 80))
    p.step('second', t.work(2, 80))
    const executor = new ParallelExecutor({ backend: compute, maxWorkers: 2 })
    const recorder = createRecorder(p, executor)
    const run = await p.run({ executor, onEvent: recorder.onEvent, runLog: false })
    expect(run.status).toBe('succeeded')
    const slices = nodeSlices(traceEvents(recorder.recording)).sort((a, b) => a.ts - b.ts)
    expect(slices.map((s) => s.track)).toEqual(['node 0', 'node 0']) // one after the other: one lane
    const [a, b] = [slices[0]!, slices[1]!]
    expect(b.ts, 'the second starts after the first ends').toBeGreaterThanOrEqual(a.ts + a.dur!)
    const waited = b.args!['queued ms'] as number
    expect(waited, `the second waited ${waited} ms behind the first's 80 ms of CPU`).toBeGreaterThanOrEqual(50)
  })

  it("puts a step that calls an actor's method on the actor's node, in the trace and the report", async () => {
    await using compute = await Compute.start({ workers: 2 })
    await using counter = await compute.actor(actors.Counter, 0, { node: 1 })
    const p = new Pipeline('actor')
    p.step('add', counter.pending.add(2))
    const executor = new ParallelExecutor({ backend: compute })
    const recorder = createRecorder(p, executor)
    const run = await p.run({ executor, onEvent: recorder.onEvent, runLog: false })
    expect(run.status).toBe('succeeded')
    expect(run.steps.map((step) => [step.name, step.node])).toEqual([['add', 1]])
    const own = nodeSlices(traceEvents(recorder.recording)).filter((slice) => slice.cat === 'step' && slice.name === 'add')
    expect(own.map((slice) => slice.track.split(' (')[0])).toEqual(['node 1'])
    const html = renderReport(run, recorder.recording)
    const data = JSON.parse(html.match(/<script type="application\/json" id="spindle-data">(.*?)<\/script>/s)![1]!)
    expect(JSON.stringify(data)).toContain('"node":1')
  })

  it('attributes a task\'s chunks to its step on the process backend too (the agent forwards them)', async () => {
    await using compute = await Compute.start({ backend: 'process', workers: 2 })
    const p = new Pipeline('fan')
    p.step('stats', t.fanOut(12, 4, 0))
    const executor = new ParallelExecutor({ backend: compute })
    const recorder = createRecorder(p, executor)
    const run = await p.run({ executor, onEvent: recorder.onEvent, runLog: false })
    expect(run.status).toBe('succeeded')
    const chunks = nodeSlices(traceEvents(recorder.recording)).filter((s) => s.cat === 'chunk')
    expect(chunks.map((c) => [c.name, c.args!.step]).sort()).toEqual([
      ['chunk 0..4', 'stats'],
      ['chunk 4..8', 'stats'],
      ['chunk 8..12', 'stats'],
    ])
  })

  it('marks a call interrupted by a lost worker on the node it was lost on, then shows its rerun', async () => {
    await using compute = await Compute.start({ workers: 2 })
    await compute.run(gather(...Array.from({ length: 50 }, (_, i) => tasks.echo(i)))) // echo is cheap: calls get batched
    // Whether calls follow exitNow in its batch depends on how the batches were cut (the exit
    // may end one): the round is repeated until some did, a premise this test needs, not its oracle.
    let log = new CallLog()
    let interrupted: typeof log.calls = []
    for (let round = 0; round < 8 && interrupted.length === 0; round++) {
      log = new CallLog()
      const unwatch = stepRunner(compute).observeCalls(log)
      const calls = Array.from({ length: 400 }, (_, i) => (i === 200 ? tasks.exitNow(7) : tasks.echo(i)))
      const results = await Promise.allSettled(calls.map((c) => compute.run(c)))
      unwatch()
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1)
      interrupted = log.calls.filter((c) => c.runs.some((r) => r.interrupted))
    }
    expect(interrupted.length, 'calls that shared the crashed batch').toBeGreaterThan(0)
    for (const call of interrupted) {
      expect(call.status).toBe('succeeded')
      expect(call.runs.at(-1)!.interrupted).toBe(false)
    }
    const events = traceEvents({ pipeline: { name: 'calls', steps: [] }, events: [], calls: log.calls })
    expectValidTrace(events)
    const slices = nodeSlices(events)
    const lost = slices.filter((s) => s.args!.status === 'interrupted')
    expect(lost).toHaveLength(interrupted.flatMap((c) => c.runs.filter((r) => r.interrupted)).length)
    for (const s of lost) {
      expect(s.name).toMatch(/^echo \(tasks\.mjs\) \(interrupted\)$/)
      const call = log.calls.find((c) => c.seq === s.args!.call)!
      const nodes = call.runs.filter((r) => r.interrupted).map((r) => `node ${r.node}`)
      expect(nodes.some((n) => s.track.startsWith(n)), `on the node that was lost (${nodes.join(', ')})`).toBe(true)
    }
    const culprit = slices.find((s) => s.args!.status === 'failed')!
    expect(culprit.name).toBe('exitNow (tasks.mjs)')
    expect(culprit.args!.error).toMatch(/^WorkerExitError: Worker \d \(thread\) running task exitNow/)
  })

  it('stops watching the pool when the run ends', async () => {
    await using compute = await Compute.start({ workers: 1 })
    const p = new Pipeline('once')
    p.step('only', t.work(1, 1))
    const executor = new ParallelExecutor({ backend: compute })
    const recorder = createRecorder(p, executor)
    await p.run({ executor, onEvent: recorder.onEvent, runLog: false })
    const seen = recorder.recording.calls.length
    expect(seen).toBe(1)
    await p.run({ executor, runLog: false })
    await compute.run(t.work(2, 1))
    expect(recorder.recording.calls.length).toBe(seen)
  })

  it('without an executor, draws nodes from the events: each attempt\'s node and dispatch time', async () => {
    const p = new Pipeline('events-only')
    const first = p.step('first', t.work(1, 5))
    p.step('second', t.work(first, 5))
    const seen: PipelineEvent[] = []
    const recorder = createRecorder(p)
    const run = await p.run({ executor: new ParallelExecutor({ maxWorkers: 1 }), onEvent: (e) => (seen.push(e), recorder.onEvent(e)), runLog: false })
    const ends = seen.filter((e) => e.type === 'step' && e.status === 'succeeded') as Array<Extract<PipelineEvent, { type: 'step' }>>
    for (const e of ends) {
      expect(e.node).toBe(0)
      expect(e.dispatchedAt).toBeGreaterThanOrEqual(run.startedAt)
      expect(e.dispatchedAt).toBeLessThanOrEqual(e.at)
    }
    const events = traceEvents(recorder.recording)
    expectValidTrace(events)
    expect(nodeSlices(events).map((s) => [s.track, s.name])).toEqual([
      ['node 0', 'pool start'], // the executor started the pool inside the run
      ['node 0', 'first'],
      ['node 0', 'second'],
    ])
  })
})
