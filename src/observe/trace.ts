/**
 * The Chrome trace-event format (the JSON object form that Perfetto and chrome://tracing open):
 * https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
 *
 * Two processes. "pool": one thread track per node (more when a node's slices overlap without
 * nesting), a complete slice (`X`) per call it ran: steps' calls, parallelMap chunks (inside
 * their task's slice when the task fanned out), interrupted runs marked; each slice's args say
 * how long it was queued; a "pool start" slice for each node's start-up during the run.
 * "pipeline": one async track per step, with a slice per attempt and, nested in it, the time it
 * waited in the pool's queue ("queued") and for its node to start ("starting"), the step's own
 * `times`; before the first attempt, the time it was ready but had not started (no free slot);
 * between attempts, the retry delay. Timestamps are µs from the run's start.
 */
import { buildTimeline, packLanes, sliceWaits, type NodeSlice, type StepSpan, type Timeline } from './timeline.js'
import type { Recording } from './recording.js'
import type { PoolStartBand } from '../runlog/step-times.js'

export interface TraceEvent {
  /** X: complete slice; b/e: nestable async begin/end; M: metadata (track names and order). */
  readonly ph: 'X' | 'b' | 'e' | 'M'
  readonly name: string
  readonly pid: number
  readonly tid: number
  readonly ts: number
  readonly dur?: number
  readonly cat?: string
  readonly id?: string
  readonly args?: Record<string, unknown>
}

export const POOL_PID = 1
export const PIPELINE_PID = 2

/** The trace of a recorded run, as trace events (`{ traceEvents }` is the file's content). */
export function traceEvents(recording: Recording): TraceEvent[] {
  const timeline = buildTimeline(recording)
  return [...metadata(timeline), ...poolEvents(timeline), ...timeline.steps.flatMap(stepEvents)]
}

const us = (ms: number): number => Math.round(ms * 1000)

function metadata(timeline: Timeline): TraceEvent[] {
  return [
    { ph: 'M', name: 'process_name', pid: POOL_PID, tid: 0, ts: 0, args: { name: 'pool' } },
    { ph: 'M', name: 'process_sort_index', pid: POOL_PID, tid: 0, ts: 0, args: { sort_index: 0 } },
    { ph: 'M', name: 'process_name', pid: PIPELINE_PID, tid: 0, ts: 0, args: { name: `pipeline ${timeline.pipeline}` } },
    { ph: 'M', name: 'process_sort_index', pid: PIPELINE_PID, tid: 0, ts: 0, args: { sort_index: 1 } },
  ]
}

/**
 * Track ids: node n's lanes are 1000·(n+1) + lane, so a node's lanes sort together. A node's
 * start-up during the run is a "pool start" slice on its track, before the calls it ran.
 */
function poolEvents(timeline: Timeline): TraceEvent[] {
  const events: TraceEvent[] = []
  for (const node of timeline.nodes) {
    const items: Array<{ start: number; end: number; event: (tid: number) => TraceEvent }> = [
      ...timeline.poolStart.filter((b) => b.node === node).map((b) => ({ start: b.from, end: b.to, event: (tid: number) => poolStartEvent(b, tid) })),
      ...timeline.slices.filter((s) => s.node === node).map((s) => ({ start: s.start, end: s.end, event: (tid: number) => sliceEvent(s, tid, timeline) })),
    ]
    const lanes = packLanes(items.sort((a, b) => a.start - b.start || b.end - a.end))
    lanes.forEach((lane, i) => {
      const tid = 1000 * (node + 1) + i
      const name = i === 0 ? `node ${node}` : `node ${node} (${i + 1})`
      events.push({ ph: 'M', name: 'thread_name', pid: POOL_PID, tid, ts: 0, args: { name } })
      events.push({ ph: 'M', name: 'thread_sort_index', pid: POOL_PID, tid, ts: 0, args: { sort_index: tid } })
      for (const item of lane) events.push(item.event(tid))
    })
  }
  return events
}

function poolStartEvent(band: PoolStartBand, tid: number): TraceEvent {
  return { ph: 'X', name: POOL_START, cat: 'pool', pid: POOL_PID, tid, ts: us(band.from), dur: Math.max(0, us(band.to) - us(band.from)), args: { node: band.node } }
}

/** The name of a node's start-up, in the trace, the report and the summaries. */
export const POOL_START = 'pool start'

/** How long a call waited before its slice: queued, and on its node while the node was starting. */
function waits(slice: NodeSlice, timeline: Timeline): Record<string, number> {
  const { queued, starting } = sliceWaits(slice, timeline.poolStart)
  return { 'queued ms': round(queued), ...(starting > 0 && { 'starting ms': round(starting) }) }
}

function sliceEvent(slice: NodeSlice, tid: number, timeline: Timeline): TraceEvent {
  return {
    ph: 'X',
    name: slice.status === 'interrupted' ? `${slice.name} (interrupted)` : slice.name,
    cat: slice.kind,
    pid: POOL_PID,
    tid,
    ts: us(slice.start),
    dur: Math.max(0, us(slice.end) - us(slice.start)),
    args: {
      status: slice.status,
      ...(slice.step !== undefined && { step: slice.step }),
      ...(slice.seq >= 0 && { call: slice.seq }),
      ...waits(slice, timeline),
      ...(slice.batch > 1 && { 'calls in batch': slice.batch }),
      ...(slice.error !== undefined && { error: slice.error }),
    },
  }
}

/**
 * One async track per step (one id each): a slice named after the step spans its life, from
 * ready to its final status (Perfetto names an async track after its first slice); inside it,
 * the wait to start, each attempt with its queue wait, and the delays between attempts.
 */
function stepEvents(step: StepSpan, index: number): TraceEvent[] {
  const id = `step-${index}`
  const begin = (name: string, ts: number, args?: Record<string, unknown>): TraceEvent => ({
    ph: 'b', name, cat: 'step', id, pid: PIPELINE_PID, tid: 0, ts: us(ts), ...(args !== undefined && { args }),
  })
  const end = (name: string, ts: number): TraceEvent => ({ ph: 'e', name, cat: 'step', id, pid: PIPELINE_PID, tid: 0, ts: us(ts) })
  const span = (name: string, from: number, to: number): TraceEvent[] => [begin(name, from), end(name, Math.max(from, to))]
  const first = step.attempts[0]
  const last = step.attempts.at(-1)
  const from = step.ready ?? first?.start ?? step.end
  const to = Math.max(step.end ?? last?.end ?? from ?? 0, last?.end ?? 0)
  if (from === undefined) return [] // never reached: no time to show
  const status = step.attempts.length === 0 && step.status === 'succeeded' ? 'succeeded (not run: reused)' : step.status
  const events = [begin(step.name, from, { kind: step.kind, status, attempts: step.attempts.length })]
  if (step.ready !== undefined && first !== undefined && first.start > step.ready) events.push(...span('waiting to start', step.ready, first.start))
  step.attempts.forEach((a, i) => {
    const previous = step.attempts[i - 1]
    if (previous !== undefined && a.start > previous.end) events.push(...span('retry delay', previous.end, a.start))
    const name = `${step.name} #${a.attempt}`
    events.push(
      begin(name, a.start, {
        attempt: a.attempt,
        status: a.status,
        ...(a.node !== undefined && { node: a.node }),
        ...(a.error !== undefined && { error: errorText(a.error) }),
      }),
    )
    // The step's `times`, drawn: queued in the pool, then waiting for its node to start (the same marks, step-times.ts).
    const { start, dispatched, up } = a.phases
    if (dispatched > start) events.push(...span('queued', start, dispatched))
    if (up > dispatched) events.push(...span('starting', dispatched, up))
    events.push(end(name, Math.max(a.start, a.end)))
  })
  events.push(end(step.name, Math.max(from, to)))
  return events
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000
