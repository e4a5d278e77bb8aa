/**
 * A Recording as time spans, the one model both the trace and the report draw: per step its
 * attempts (ready → started → sent to a node → its node up → ended), per node the slices its
 * calls occupied, and the pool's start-up.
 * All times are ms from the run's start.
 */
import type { PipelineEvent, StepKind, StepStatus } from '../pipeline/types.js'
import type { PipelineShape, Recording } from './recording.js'
import { nodeSlices, type NodeSlice } from './node-slices.js'
import { addTimes, attemptPhases, phaseTimes, type AttemptPhases, type PoolStartBand, type StepTimes } from '../runlog/step-times.js'

export { packLanes, type NodeSlice } from './node-slices.js'

export interface AttemptSpan {
  readonly attempt: number
  /** The attempt started (its `running` event). */
  readonly start: number
  /** Its call reached a node; from `start` to here it waited in the pool's queue. */
  readonly dispatched: number | undefined
  /** The node came up: it was still starting when the call reached it, and the step waited for it until here. */
  readonly up: number | undefined
  /** Its marks in order within it: queued, starting, running (runlog/step-times.ts, as the step's `times` are made). */
  readonly phases: AttemptPhases
  readonly node: number | undefined
  readonly end: number
  /** How the attempt ended: `retried` when the step threw and runs again. */
  readonly status: 'succeeded' | 'failed' | 'retried' | 'cancelled' | 'running'
  readonly error: unknown
}

export interface StepSpan {
  /** `parallel/branch/step` for nested steps. */
  readonly name: string
  readonly kind: StepKind
  readonly status: StepStatus
  /** When its dependencies had all succeeded (or its level started): from here to the first attempt it waited for a slot. */
  readonly ready: number | undefined
  readonly attempts: readonly AttemptSpan[]
  /** Its final event (succeeded without an attempt: reused from the cache or a resumed run). */
  readonly end: number | undefined
  readonly error: unknown
}

export interface Timeline {
  readonly pipeline: string
  /** Epoch ms of the run's start: the zero of every other time. */
  readonly origin: number
  readonly duration: number
  readonly steps: readonly StepSpan[]
  readonly slices: readonly NodeSlice[]
  readonly nodes: readonly number[]
  /** The pool's start-up: per node that came up during the run, from the pool's start to its `up`. */
  readonly poolStart: readonly PoolStartBand[]
}

export function buildTimeline(recording: Recording): Timeline {
  const { events } = recording
  const first = events.find((e) => e.type === 'run')
  const origin = first?.at ?? Math.min(...recording.calls.map((c) => c.queuedAt), Date.now())
  const last = events.findLast((e) => e.type === 'run' && e.status !== 'running')?.at
  const steps = stepSpans(recording.pipeline, events, origin)
  // Without the pool's calls (a recorder given no executor), each attempt that reached a node stands in.
  const slices = recording.calls.length > 0 ? nodeSlices(recording, origin) : attemptSlices(steps)
  const poolStart = events.flatMap((e) => (e.type === 'pool' ? [{ node: e.node, from: e.from - origin, to: e.at - origin }] : []))
  const end = Math.max(last === undefined ? 0 : last - origin, ...slices.map((s) => s.end), ...steps.map((s) => s.end ?? 0), ...poolStart.map((b) => b.to))
  const nodes = [...new Set([...poolStart.map((b) => b.node), ...slices.map((s) => s.node)])].sort((a, b) => a - b)
  return { pipeline: recording.pipeline.name, origin, duration: end, steps, slices, nodes, poolStart }
}

type StepEvent = Extract<PipelineEvent, { type: 'step' }>

function stepSpans(shape: PipelineShape, events: readonly PipelineEvent[], origin: number): StepSpan[] {
  const byStep = new Map<string, StepEvent[]>()
  for (const e of events) if (e.type === 'step') (byStep.get(e.step) ?? byStep.set(e.step, []).get(e.step)!).push(e)
  const spans: StepSpan[] = []
  const finals = new Map<string, number>()
  // Levels in definition order, each before its branches: a branch starts when its parallel step does.
  const walk = (level: PipelineShape, prefix: string, levelStart: number) => {
    for (const step of level.steps) {
      const name = prefix + step.name
      const own = byStep.get(name) ?? []
      const deps = step.deps.map((d) => finals.get(prefix + d))
      const ready = own.length === 0 || deps.some((d) => d === undefined) ? undefined : Math.max(levelStart, ...(deps as number[]))
      const span = spanOf(name, step.kind, own, ready, origin)
      if (span.end !== undefined && span.status === 'succeeded') finals.set(name, span.end)
      spans.push(span)
      for (const [branch, sub] of Object.entries(step.branches ?? {})) walk(sub, `${name}/${branch}/`, span.attempts[0]?.start ?? levelStart)
    }
  }
  walk(shape, '', 0)
  return spans
}

function spanOf(name: string, kind: StepKind, events: readonly StepEvent[], ready: number | undefined, origin: number): StepSpan {
  const attempts: AttemptSpan[] = []
  let open: StepEvent | undefined
  let status: StepStatus = 'pending'
  let end: number | undefined
  let error: unknown
  for (const e of events) {
    status = e.status
    if (e.status === 'running') {
      open = e
      continue
    }
    if (e.error !== undefined) error = e.error
    if (e.status === 'pending' && open === undefined) continue
    if (e.status !== 'pending') end = e.at - origin
    if (open === undefined) continue
    const [start, dispatched, up] = [open.at - origin, e.dispatchedAt === undefined ? undefined : e.dispatchedAt - origin, e.nodeUpAt === undefined ? undefined : e.nodeUpAt - origin]
    attempts.push({
      attempt: open.attempt,
      start,
      dispatched,
      up,
      phases: attemptPhases({ start, dispatchedAt: dispatched, nodeUpAt: up, end: e.at - origin }),
      node: e.node,
      end: e.at - origin,
      status: e.status === 'pending' ? 'retried' : e.status === 'succeeded' ? 'succeeded' : e.status === 'cancelled' ? 'cancelled' : 'failed',
      error: e.error,
    })
    open = undefined
  }
  if (open !== undefined) {
    const start = open.at - origin
    attempts.push({ attempt: open.attempt, start, dispatched: undefined, up: undefined, phases: attemptPhases({ start, end: start }), node: undefined, end: start, status: 'running', error: undefined })
  }
  return { name, kind, status, ready, attempts, end, error }
}

function attemptSlices(steps: readonly StepSpan[]): NodeSlice[] {
  const slices = steps.flatMap((s) =>
    s.attempts.flatMap((a): NodeSlice[] =>
      a.node === undefined || a.dispatched === undefined
        ? []
        : [{
            node: a.node, name: s.name, kind: 'step', step: s.name, queued: a.start, sent: a.phases.dispatched, start: a.phases.up, end: a.end,
            status: a.status === 'retried' ? 'failed' : a.status === 'cancelled' ? 'failed' : a.status,
            seq: -1, batch: 1, error: a.error === undefined ? undefined : String(a.error instanceof Error ? `${a.error.name}: ${a.error.message}` : a.error),
          }],
    ),
  )
  return slices.sort((a, b) => a.start - b.start || b.end - a.end)
}

/** A step's queued / starting / running ms over its attempts: the figures of its `times`, from the same marks. */
export function spanTimes(span: StepSpan): StepTimes | undefined {
  let times: StepTimes | undefined
  for (const a of span.attempts) {
    if (a.status === 'running') continue // not over yet: the record has no account of it either
    times = addTimes(times, phaseTimes(a.phases))
  }
  return times
}

/**
 * A call's wait before its slice: the part spent on its node while the node was starting (after
 * it was sent there, within the node's "pool start" band) is `starting`; the rest, in the pool's
 * queue or behind another batch on the node, is `queued`.
 */
export function sliceWaits(slice: NodeSlice, poolStart: readonly PoolStartBand[]): { queued: number; starting: number; startingFrom: number; startingTo: number } {
  const band = poolStart.find((b) => b.node === slice.node && b.to > slice.sent && b.from < slice.start)
  const [from, to] = band === undefined ? [slice.start, slice.start] : [Math.max(slice.sent, band.from), Math.min(slice.start, band.to)]
  const starting = Math.max(0, to - from)
  return { queued: Math.max(0, slice.start - slice.queued - starting), starting, startingFrom: from, startingTo: from + starting }
}
