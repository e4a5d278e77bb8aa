/**
 * A Recording as time spans, the one model both the trace and the report draw: per step its
 * attempts (ready → started → on a node → ended), and per node the slices its calls occupied.
 * All times are ms from the run's start.
 */
import type { PipelineEvent, StepKind, StepStatus } from '../pipeline/types.js'
import type { PipelineShape, Recording } from './recording.js'

export interface AttemptSpan {
  readonly attempt: number
  /** The attempt started (its `running` event). */
  readonly start: number
  /** Its call reached a node; from `start` to here it waited in the pool's queue. */
  readonly dispatched: number | undefined
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

/** One slice of a node's time: a call (or a share of its batch) between start and end. */
export interface NodeSlice {
  readonly node: number
  readonly name: string
  readonly kind: 'step' | 'chunk' | 'call'
  /** The step it was for, when known (a chunk inherits its submitting call's). */
  readonly step: string | undefined
  /** Queued at, then on the node from `start` to `end`. */
  readonly queued: number
  readonly start: number
  readonly end: number
  readonly status: 'succeeded' | 'failed' | 'interrupted' | 'running'
  readonly seq: number
  readonly batch: number
  readonly error: string | undefined
}

export interface Timeline {
  readonly pipeline: string
  /** Epoch ms of the run's start: the zero of every other time. */
  readonly origin: number
  readonly duration: number
  readonly steps: readonly StepSpan[]
  readonly slices: readonly NodeSlice[]
  readonly nodes: readonly number[]
}

export function buildTimeline(recording: Recording): Timeline {
  const { events } = recording
  const first = events.find((e) => e.type === 'run')
  const origin = first?.at ?? Math.min(...recording.calls.map((c) => c.queuedAt), Date.now())
  const last = events.findLast((e) => e.type === 'run' && e.status !== 'running')?.at
  const steps = stepSpans(recording.pipeline, events, origin)
  // Without the pool's calls (a recorder given no executor), each attempt that reached a node stands in.
  const slices = recording.calls.length > 0 ? nodeSlices(recording, origin) : attemptSlices(steps)
  const end = Math.max(last === undefined ? 0 : last - origin, ...slices.map((s) => s.end), ...steps.map((s) => s.end ?? 0))
  return { pipeline: recording.pipeline.name, origin, duration: end, steps, slices, nodes: [...new Set(slices.map((s) => s.node))].sort((a, b) => a - b) }
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
    attempts.push({
      attempt: open.attempt,
      start: open.at - origin,
      dispatched: e.dispatchedAt === undefined ? undefined : e.dispatchedAt - origin,
      node: e.node,
      end: e.at - origin,
      status: e.status === 'pending' ? 'retried' : e.status === 'succeeded' ? 'succeeded' : e.status === 'cancelled' ? 'cancelled' : 'failed',
      error: e.error,
    })
    open = undefined
  }
  if (open !== undefined) attempts.push({ attempt: open.attempt, start: open.at - origin, dispatched: undefined, node: undefined, end: open.at - origin, status: 'running', error: undefined })
  return { name, kind, status, ready, attempts, end, error }
}

/**
 * Where calls sat on their nodes. The node reports one time for a whole batch, so a call's share
 * is its place in the batch (the node runs a batch's calls in order); a call sent while the node
 * was still busy waited in its port, so its slice starts when the node's time for it began.
 */
function nodeSlices(recording: Recording, origin: number): NodeSlice[] {
  const bySeq = new Map(recording.calls.map((c) => [c.seq, c]))
  const stepOf = (seq: number | undefined): string | undefined => {
    for (let c = seq === undefined ? undefined : bySeq.get(seq); c !== undefined; c = c.parent === undefined ? undefined : bySeq.get(c.parent)) {
      if (c.label !== undefined) return c.label
    }
    return undefined
  }
  const slices: NodeSlice[] = []
  for (const call of recording.calls) {
    const step = stepOf(call.seq)
    const kind = call.chunk !== undefined ? 'chunk' : call.label !== undefined ? 'step' : 'call'
    const name = call.chunk !== undefined ? `chunk ${call.chunk[0]}..${call.chunk[1]}` : (call.label ?? call.task)
    call.runs.forEach((run, i) => {
      const ended = (run.endedAt ?? call.settledAt) ?? undefined
      const end = ended === undefined ? undefined : ended - origin
      const sent = run.sentAt - origin
      let start = sent
      let stop = end ?? sent
      if (run.ms !== undefined && end !== undefined) {
        const share = run.ms / run.batch
        start = Math.max(sent, end - run.ms + share * run.index)
        stop = Math.max(start, Math.min(end, end - run.ms + share * (run.index + 1)))
      }
      const lastRun = i === call.runs.length - 1
      const status = run.interrupted ? 'interrupted' : !lastRun || call.status === 'succeeded' ? 'succeeded' : call.status === 'failed' ? 'failed' : 'running'
      slices.push({
        node: run.node,
        name,
        kind,
        step,
        queued: (i === 0 ? call.queuedAt : (call.runs[i - 1]!.endedAt ?? run.sentAt)) - origin,
        start,
        end: stop,
        status,
        seq: call.seq,
        batch: run.batch,
        error: lastRun ? call.error : undefined,
      })
    })
  }
  return slices.sort((a, b) => a.start - b.start || b.end - a.end)
}

function attemptSlices(steps: readonly StepSpan[]): NodeSlice[] {
  const slices = steps.flatMap((s) =>
    s.attempts.flatMap((a): NodeSlice[] =>
      a.node === undefined || a.dispatched === undefined
        ? []
        : [{
            node: a.node, name: s.name, kind: 'step', step: s.name, queued: a.start, start: a.dispatched, end: a.end,
            status: a.status === 'retried' ? 'failed' : a.status === 'cancelled' ? 'failed' : a.status,
            seq: -1, batch: 1, error: a.error === undefined ? undefined : String(a.error instanceof Error ? `${a.error.name}: ${a.error.message}` : a.error),
          }],
    ),
  )
  return slices.sort((a, b) => a.start - b.start || b.end - a.end)
}

/**
 * Packs a node's slices into lanes where slices either follow each other or nest (a task waiting
 * on its own parallelMap holds its slice open while the chunks run): what a trace viewer's
 * thread track and a Gantt row can show without overlap. Slices come sorted by start.
 */
export function packLanes<T extends { readonly start: number; readonly end: number }>(slices: readonly T[]): T[][] {
  const lanes: Array<{ items: T[]; open: T[] }> = []
  for (const slice of slices) {
    const lane = lanes.find(({ open }) => {
      while (open.length > 0 && open.at(-1)!.end <= slice.start) open.pop()
      return open.length === 0 || open.at(-1)!.end >= slice.end
    })
    const target = lane ?? lanes[lanes.push({ items: [], open: [] }) - 1]!
    target.items.push(slice)
    target.open.push(slice)
  }
  return lanes.map((l) => l.items)
}
