/**
 * What a recorder keeps of one run: the pipeline's shape (plain data, so it can be embedded in a
 * report), every pipeline event, and every call of the pool as the dispatcher saw it. Traces and
 * reports are pure functions of a Recording; this file also turns the dispatcher's hooks into
 * call spans (`CallLog`), reading the clock only on the recorder's side.
 */
import type { PipelineDefinition } from '../pipeline/definition.js'
import type { PipelineEvent, StepKind } from '../pipeline/types.js'
import type { Call, CallObserver } from '../dispatch/call.js'
import { chunkRange } from '../map/chunk-call.js'

/** A pipeline as data: its steps, their dependencies (same pipeline), and nested branches. */
export interface PipelineShape {
  readonly name: string
  readonly steps: ReadonlyArray<{
    readonly name: string
    readonly kind: StepKind
    readonly deps: readonly string[]
    readonly branches?: Readonly<Record<string, PipelineShape>>
  }>
}

/** One time a call was sent to a node (more than one when a lost node interrupted it). */
export interface CallRun {
  readonly node: number
  /** Epoch ms (fractional) when the batch left for the node. */
  readonly sentAt: number
  /** Calls in its batch, and this call's place there (the node runs them in order). */
  readonly batch: number
  readonly index: number
  /** When the node answered (or the call settled), and the batch's time on the node. */
  endedAt: number | undefined
  ms: number | undefined
  /** The node was lost under it: the call was queued again. */
  interrupted: boolean
}

export interface CallSpan {
  /** The dispatcher's number for the call; `parent` is that of the task that submitted it. */
  readonly seq: number
  readonly parent: number | undefined
  /** `name (file)` of the task. */
  readonly task: string
  /** What it is for: a step's name (`step[3]` for a map step's item), when a pipeline sent it. */
  readonly label: string | undefined
  /** For a parallelMap chunk: its items, as [first index, end). */
  readonly chunk: readonly [number, number] | undefined
  readonly queuedAt: number
  readonly runs: CallRun[]
  settledAt: number | undefined
  status: 'queued' | 'running' | 'succeeded' | 'failed'
  /** The error's message, for a failed call. */
  error: string | undefined
}

export interface Recording {
  readonly pipeline: PipelineShape
  /** Every event but steps' printed lines, which are kept in `output`. */
  readonly events: readonly PipelineEvent[]
  readonly calls: readonly CallSpan[]
  /** The last lines each shell or script step printed, by step and stream (bounded: a step may print millions). */
  readonly output?: Readonly<Record<string, OutputTail>>
}

export interface OutputTail {
  readonly stdout: string[]
  readonly stderr: string[]
}

/** Lines of each stream a recording keeps per step. */
export const OUTPUT_TAIL_LINES = 20

/** Keeps a printed line in the step's tail, dropping the oldest past the bound. */
export function keepLine(output: Record<string, OutputTail>, step: string, stream: 'stdout' | 'stderr', line: string): void {
  const tail = (output[step] ??= { stdout: [], stderr: [] })[stream]
  tail.push(line)
  if (tail.length > OUTPUT_TAIL_LINES) tail.shift()
}

export function shapeOf(pipeline: PipelineDefinition): PipelineShape {
  return {
    name: pipeline.name,
    steps: pipeline.steps.map((d) => ({
      name: d.name,
      kind: d.kind,
      deps: [...d.deps],
      ...(d.branches !== undefined && {
        branches: Object.fromEntries(Object.entries(d.branches).map(([branch, p]) => [branch, shapeOf(p)])),
      }),
    })),
  }
}

/** Epoch ms with sub-millisecond precision: slices of map chunks are often under a millisecond. */
export const now = (): number => performance.timeOrigin + performance.now()

/** Builds call spans from the dispatcher's hooks. */
export class CallLog implements CallObserver {
  readonly calls: CallSpan[] = []
  private readonly bySeq = new Map<number, CallSpan>()

  queued(call: Call, takenBack = false): void {
    const known = this.bySeq.get(call.seq)
    if (known !== undefined) {
      const last = known.runs.at(-1)
      // Taken back before it started there: it never ran on that node, and the timeline says so.
      if (takenBack) known.runs.pop()
      else if (last !== undefined) {
        last.interrupted = true
        last.endedAt ??= now() // its node was lost about now
      }
      known.status = 'queued'
      return
    }
    const span: CallSpan = {
      seq: call.seq,
      parent: call.options.parent,
      task: call.label,
      label: call.options.label,
      chunk: chunkRange(call.task, call.args),
      queuedAt: now(),
      runs: [],
      settledAt: undefined,
      status: 'queued',
      error: undefined,
    }
    this.bySeq.set(call.seq, span)
    this.calls.push(span)
  }

  sent(calls: readonly Call[], node: number): void {
    const at = now()
    calls.forEach((call, index) => {
      const span = this.bySeq.get(call.seq)
      if (span === undefined) return // submitted before the recorder watched
      span.status = 'running'
      span.runs.push({ node, sentAt: at, batch: calls.length, index, endedAt: undefined, ms: undefined, interrupted: false })
    })
  }

  ran(calls: readonly Call[], ms: number): void {
    const at = now()
    for (const call of calls) {
      const run = this.bySeq.get(call.seq)?.runs.at(-1)
      if (run === undefined) continue
      run.endedAt = at
      run.ms = ms
    }
  }

  settled(call: Call, failed: boolean, error: unknown): void {
    const span = this.bySeq.get(call.seq)
    if (span === undefined) return
    span.settledAt = now()
    span.status = failed ? 'failed' : 'succeeded'
    if (failed) span.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    const run = span.runs.at(-1)
    if (run !== undefined) run.endedAt ??= span.settledAt // rejected without an answer: a deadline, a crash, a cancellation
  }
}

