// The trace of a hand-written recording: which slice lands on which track, at which µs. The
// recording has a retry, a call interrupted by a lost node, a map fan-out sent as one batch of
// two chunks, a shell step off the pool, and waits of every kind.
import { describe, expect, it } from 'vitest'
import { traceEvents, type CallSpan, type PipelineEvent, type Recording } from '../../src/index.js'
import { buildTimeline, packLanes } from '../../src/observe/timeline.js'
import { prng } from '../helpers/testing.js'
import { expectValidTrace, nodeSlices } from '../helpers/trace-schema.js'

const T0 = 1_000_000
const step = (name: string, status: string, at: number, attempt = 1, more: object = {}): PipelineEvent =>
  ({ type: 'step', step: name, status, attempt, at: T0 + at, ...more }) as PipelineEvent
const run = (at: number, node: number, ms: number | undefined, more: object = {}) => ({ node, sentAt: T0 + at, batch: 1, index: 0, endedAt: undefined, ms, interrupted: false, ...more })
const call = (seq: number, queuedAt: number, runs: CallSpan['runs'], more: Partial<CallSpan> = {}): CallSpan => ({
  seq, parent: undefined, task: 'fn (tasks.js)', label: undefined, chunk: undefined, queuedAt: T0 + queuedAt, runs, settledAt: undefined, status: 'succeeded', error: undefined, ...more,
})

const boom = new Error('boom')
const recording: Recording = {
  pipeline: {
    name: 'demo',
    steps: [
      { name: 'a', kind: 'call', deps: [] },
      { name: 'b', kind: 'call', deps: ['a'] },
      { name: 'c', kind: 'shell', deps: ['a'] },
    ],
  },
  events: [
    { type: 'run', status: 'running', run: 'r1', at: T0, steps: ['a', 'b', 'c'] },
    step('a', 'running', 0),
    step('a', 'succeeded', 10, 1, { node: 0, dispatchedAt: T0 + 2 }),
    step('c', 'running', 10),
    step('b', 'running', 15),
    step('b', 'pending', 30, 1, { error: boom, node: 1, dispatchedAt: T0 + 16 }),
    step('b', 'running', 40, 2),
    step('c', 'succeeded', 50),
    step('b', 'succeeded', 60, 2, { node: 0, dispatchedAt: T0 + 41 }),
    { type: 'run', status: 'succeeded', run: 'r1', at: T0 + 61 },
  ],
  calls: [
    // a: sent to node 1, which was lost; run again on node 0, where it took 6 ms of the 8 since it was sent.
    call(1, 0.5, [run(1, 1, undefined, { endedAt: T0 + 1.5, interrupted: true }), run(2, 0, 6, { endedAt: T0 + 10 })], { label: 'a' }),
    call(2, 15.5, [run(16, 1, 12, { endedAt: T0 + 30 })], { label: 'b', status: 'failed', error: 'Error: boom' }),
    call(4, 40.5, [run(41, 0, 18, { endedAt: T0 + 60 })], { label: 'b' }),
    // b's task fanned out: two chunks sent together; the node took 4 ms for both.
    call(5, 45, [run(45, 1, 4, { endedAt: T0 + 51, batch: 2, index: 0 })], { parent: 4, chunk: [0, 5], task: 'mapChunk (map-chunk.js)' }),
    call(6, 45, [run(45, 1, 4, { endedAt: T0 + 51, batch: 2, index: 1 })], { parent: 4, chunk: [5, 10], task: 'mapChunk (map-chunk.js)' }),
  ],
}

describe('traceEvents', () => {
  const events = traceEvents(recording)

  it('is a valid trace: fields Perfetto reads, every track named, async slices balanced', () => {
    expectValidTrace(events)
    expect(JSON.parse(JSON.stringify({ traceEvents: events })).traceEvents).toEqual(events)
  })

  it('names the processes and one track per node', () => {
    const meta = events.filter((e) => e.ph === 'M' && e.name.endsWith('_name')).map((e) => [e.name, e.pid, e.tid, e.args!.name])
    expect(meta).toEqual([
      ['process_name', 1, 0, 'pool'],
      ['process_name', 2, 0, 'pipeline demo'],
      ['thread_name', 1, 1000, 'node 0'],
      ['thread_name', 1, 2000, 'node 1'],
    ])
  })

  it('puts each call on its node at the time the node spent on it; a batch is shared in order', () => {
    const slices = nodeSlices(events).map((e) => [e.track, e.name, e.cat, e.ts, e.dur, e.args!.status, e.args!.step, e.args!['queued ms']])
    expect(slices).toEqual([
      ['node 0', 'a', 'step', 4000, 6000, 'succeeded', 'a', 2.5], // queued again when node 1 was lost at 1.5 ms
      ['node 0', 'b', 'step', 42000, 18000, 'succeeded', 'b', 1.5],
      ['node 1', 'a (interrupted)', 'step', 1000, 500, 'interrupted', 'a', 0.5],
      ['node 1', 'b', 'step', 18000, 12000, 'failed', 'b', 2.5],
      ['node 1', 'chunk 0..5', 'chunk', 47000, 2000, 'succeeded', 'b', 2],
      ['node 1', 'chunk 5..10', 'chunk', 49000, 2000, 'succeeded', 'b', 4],
    ])
    expect(nodeSlices(events).find((e) => e.name === 'b' && e.args!.status === 'failed')!.args!.error).toBe('Error: boom')
  })

  it('gives each step an async track: attempts, queue waits, the wait to start, the retry delay', () => {
    const spans: Array<[string, string, number, number]> = []
    const open: Array<{ id: string; name: string; ts: number }> = []
    for (const e of events) {
      if (e.ph === 'b') open.push({ id: e.id!, name: e.name, ts: e.ts })
      if (e.ph === 'e') {
        const begin = open.splice(open.findLastIndex((o) => o.id === e.id && o.name === e.name), 1)[0]!
        spans.push([e.id!, e.name, begin.ts, e.ts])
      }
    }
    expect(spans).toEqual([
      ['step-0', 'queued', 0, 2000],
      ['step-0', 'a #1', 0, 10000],
      ['step-0', 'a', 0, 10000],
      ['step-1', 'waiting to start', 10000, 15000], // a ended at 10 ms; b started at 15
      ['step-1', 'queued', 15000, 16000],
      ['step-1', 'b #1', 15000, 30000],
      ['step-1', 'retry delay', 30000, 40000],
      ['step-1', 'queued', 40000, 41000],
      ['step-1', 'b #2', 40000, 60000],
      ['step-1', 'b', 10000, 60000], // from ready to its end: the track is named after it
      ['step-2', 'c #1', 10000, 50000],
      ['step-2', 'c', 10000, 50000],
    ])
    const begins = new Map(events.filter((e) => e.ph === 'b').map((e) => [e.name, e.args]))
    expect(begins.get('b')).toEqual({ kind: 'call', status: 'succeeded', attempts: 2 })
    expect(begins.get('b #1')).toEqual({ attempt: 1, status: 'retried', node: 1, error: 'Error: boom' })
    // Each track's first slice is the step's own: what Perfetto names the track after.
    const firstOfTrack = new Map<string, string>()
    for (const e of events) if (e.ph === 'b' && !firstOfTrack.has(e.id!)) firstOfTrack.set(e.id!, e.name)
    expect([...firstOfTrack.values()]).toEqual(['a', 'b', 'c'])
  })
})

describe('buildTimeline', () => {
  it('says when each step was ready, and how each attempt ended', () => {
    const timeline = buildTimeline(recording)
    expect(timeline.duration).toBe(61)
    expect(timeline.nodes).toEqual([0, 1])
    expect(timeline.steps.map((s) => [s.name, s.ready, s.attempts.map((a) => a.status)])).toEqual([
      ['a', 0, ['succeeded']],
      ['b', 10, ['retried', 'succeeded']],
      ['c', 10, ['succeeded']],
    ])
  })
})

describe('where calls sat on a node', () => {
  const only = (calls: CallSpan[]): Recording => ({ pipeline: { name: 'calls', steps: [] }, events: [], calls })
  const placed = (recording: Recording) => buildTimeline(recording).slices.map((s) => [s.seq, s.start, s.end])

  it('does not draw a thread\'s sequential work as overlapping when an answer arrived late', () => {
    // Both sent at once; the node ran 40 ms each, one after the other, but the first answer
    // was read only just before the second's (the main thread was busy).
    const slices = placed(only([call(1, 0, [run(0, 0, 40, { endedAt: T0 + 100 })]), call(2, 0, [run(1, 0, 40, { endedAt: T0 + 101 })])]))
    expect(slices).toEqual([
      [1, 21, 61],
      [2, 61, 101],
    ])
  })

  it('keeps the overlap of calls that cannot have run one after the other (async tasks interleaving)', () => {
    // Each took as long as from its sending to its answer: they ran at the same time.
    const recording = only([call(1, 0, [run(0, 0, 50, { endedAt: T0 + 50 })]), call(2, 0, [run(0.5, 0, 51, { endedAt: T0 + 52 })])])
    expect(placed(recording)).toEqual([
      [1, 0, 50],
      [2, 1, 52],
    ])
    expect(packLanes(buildTimeline(recording).slices).map((lane) => lane.map((s) => s.seq))).toEqual([[1], [2]])
  })
})

describe('packLanes', () => {
  it('keeps every lane free of partial overlaps (property test against random slices)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed)
      const slices = Array.from({ length: 1 + Math.floor(random() * 30) }, () => {
        const start = Math.floor(random() * 100)
        return { start, end: start + Math.floor(random() * 30) }
      }).sort((a, b) => a.start - b.start || b.end - a.end)
      const lanes = packLanes(slices)
      expect(lanes.flat().length, `seed ${seed}`).toBe(slices.length)
      for (const lane of lanes) {
        for (let i = 0; i < lane.length; i++) {
          for (let j = i + 1; j < lane.length; j++) {
            const [x, y] = [lane[i]!, lane[j]!]
            const apart = x.end <= y.start || y.end <= x.start
            const nested = (x.start <= y.start && y.end <= x.end) || (y.start <= x.start && x.end <= y.end)
            expect(apart || nested, `seed ${seed}: ${JSON.stringify(x)} and ${JSON.stringify(y)} share a lane`).toBe(true)
          }
        }
      }
    }
  })

  it('puts a fan-out inside its task on the task\'s lane, and a partial overlap on a new one', () => {
    const task = { start: 0, end: 10 }
    const chunk = { start: 2, end: 4 }
    const other = { start: 8, end: 12 }
    expect(packLanes([task, chunk, other])).toEqual([[task, chunk], [other]])
  })
})

describe('the pool\'s start-up', () => {
  // s was sent to node 0 at 1 ms, while its worker was starting; the node came up at 8 ms, and ran s for 4 ms.
  const starting: Recording = {
    pipeline: { name: 'cold', steps: [{ name: 's', kind: 'call', deps: [] }] },
    events: [
      { type: 'run', status: 'running', run: 'r2', at: T0, steps: ['s'] },
      step('s', 'running', 0),
      { type: 'phase', step: 's', attempt: 1, phase: 'starting', node: 0, at: T0 + 1 },
      { type: 'pool', node: 0, from: T0, at: T0 + 8 },
      { type: 'phase', step: 's', attempt: 1, phase: 'running', node: 0, at: T0 + 8 },
      step('s', 'succeeded', 13, 1, { node: 0, dispatchedAt: T0 + 1, nodeUpAt: T0 + 8 }),
      { type: 'run', status: 'succeeded', run: 'r2', at: T0 + 13 },
    ],
    calls: [call(1, 0.5, [run(1, 0, 4, { endedAt: T0 + 12.5 })], { label: 's' })],
  }
  const events = traceEvents(starting)

  it('is a "pool start" slice on the node\'s track, before the calls it ran', () => {
    expectValidTrace(events)
    expect(nodeSlices(events).map((e) => [e.track, e.name, e.ts, e.dur])).toEqual([
      ['node 0', 'pool start', 0, 8000],
      ['node 0', 's', 8500, 4000],
    ])
  })

  it('shows a step whose call waited for its node as starting, not queued: on its track, and its call\'s wait split by the node\'s start-up', () => {
    const spans = events.filter((e) => e.pid === 2 && e.ph === 'b').map((e) => e.name)
    expect(spans).toEqual(['s', 's #1', 'queued', 'starting'])
    const at = (name: string, ph: 'b' | 'e') => events.find((e) => e.pid === 2 && e.ph === ph && e.name === name)!.ts
    expect([at('queued', 'b'), at('queued', 'e'), at('starting', 'b'), at('starting', 'e')]).toEqual([0, 1000, 1000, 8000])
    const slice = nodeSlices(events).find((e) => e.name === 's')!
    expect([slice.args!['queued ms'], slice.args!['starting ms']]).toEqual([1, 7])
  })
})
