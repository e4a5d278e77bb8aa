/** What every level of one pipeline run shares, and how a step's Pending finds its inputs. */
import { SpindleError } from '../errors.js'
import type { StepRunner } from '../compute/step-runner.js'
import type { Pending } from '../task/pending.js'
import type { PipelineDefinition, StepId } from './definition.js'
import type { ParallelExecutor } from './executor.js'
import type { Slots } from './slots.js'
import type { StepGraph } from '../graph/step-graph.js'
import type { Persistence } from './persistence.js'
import type { TraceParent } from '../observe/otel.js'
import type { PipelineEvent, StepRecord, StepStatus } from './types.js'
import { addTimes, attemptPhases, phaseTimes } from '../runlog/step-times.js'

export interface RunContext {
  /** The run's pool, as pipelines use it. */
  readonly runner: StepRunner
  readonly executor: ParallelExecutor
  readonly slots: Slots
  /** Aborted when the run stops: cancellation, or a failure with `cancelRunning`. */
  readonly stop: AbortController
  /** The caller's signal: distinguishes a cancelled run from one stopped by a failure. */
  readonly user: AbortSignal | undefined
  readonly continueOnError: boolean
  readonly cancelRunning: boolean
  readonly params: Readonly<Record<string, unknown>>
  /** Every step record of the run, nested ones named `parallel/branch/step`, in the order they appear. */
  readonly records: StepRecord[]
  readonly emit: (event: PipelineEvent) => void
  /** Whether anyone listens to `emit` (run({ onEvent })). */
  readonly listening: boolean
  /** Set when any step has finally failed. */
  failed: boolean
  /** The run log, resume data and step cache. */
  readonly persistence: Persistence
  /** Each pipeline of the run's tree, validated before the run started. */
  readonly graphs: ReadonlyMap<PipelineDefinition, StepGraph>
  /** Runs a level to its end (level.ts): how a parallel step runs its branches. */
  readonly runLevel: (level: Level) => Promise<LevelOutcome>
}

/** One pipeline of the run's tree: its outputs, and the level that contains it. */
export interface Level {
  readonly pipeline: PipelineDefinition
  /** `parallel/branch/` for nested levels, '' at the top. */
  readonly prefix: string
  readonly outputs: Map<string, unknown>
  /** Cache keys of this level's cached steps, by name: downstream keys include them. */
  readonly keys: Map<string, string>
  readonly parent: Level | undefined
  /** Where its steps' spans start, when the run is traced (observe/otel.ts). */
  readonly trace?: TraceParent | undefined
}

/**
 * How a level ended, derived from its steps: `failed` if one failed (and was not recovered),
 * else `cancelled` if one was cancelled or the run was stopped, else `succeeded`.
 */
export interface LevelOutcome {
  readonly status: 'succeeded' | 'failed' | 'cancelled'
  /** The output of the level's last step. */
  readonly result: unknown
  readonly error: unknown
}

const FINAL: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled'])

/**
 * Moves a step to `status`. A final status is written to the run log before anyone hears of it,
 * so a step reported done is on disk, whenever the process dies.
 */
export function transition(ctx: RunContext, record: StepRecord, status: StepStatus, error?: unknown, output?: unknown): void {
  const now = Date.now()
  const ran = record.status === 'running' && status !== 'running'
  record.status = status
  if (status === 'running') {
    record.startedAt ??= now
    record.attemptStartedAt = now
  } else if (status !== 'pending') record.endedAt = now
  // An attempt ended: its phases join the step's account, the one every display reads.
  if (ran) record.times = addTimes(record.times, phaseTimes(attemptPhases({ start: record.attemptStartedAt!, dispatchedAt: record.dispatchedAt, nodeUpAt: record.nodeUpAt, end: now })))
  if (error !== undefined) record.error = error
  if (FINAL.has(status)) ctx.persistence.record(record, output)
  if (!ctx.listening) return // nobody listens: no event object per transition
  ctx.emit({
    type: 'step',
    step: record.name,
    kind: record.kind,
    status,
    attempt: record.attempts,
    at: now,
    ...(error !== undefined && { error }),
    // Where and when the attempt's call reached a node (unset on `running`, which comes first).
    ...(record.dispatchedAt !== undefined && { node: record.node, dispatchedAt: record.dispatchedAt }),
    ...(record.nodeUpAt !== undefined && { nodeUpAt: record.nodeUpAt }),
    ...(status === 'succeeded' && record.reused !== undefined && { reused: record.reused }),
  })
}

/**
 * A call of the step's attempt reached `node`: the first one ends its wait in the pool's queue.
 * If the node is still starting, the step is `starting` until it comes up, then `running` (two
 * `phase` events); a call sent to a node that is up is running at once, and says nothing more.
 * Events go a microtask later: this runs inside the dispatcher's send and the node's report.
 */
export function dispatched(ctx: RunContext, record: StepRecord, node: number): void {
  record.node = node
  if (record.dispatchedAt !== undefined) return // a later call of the attempt, or the call sent again
  const at = Date.now()
  record.dispatchedAt = at
  // Only a wait for the node is news: a call sent to a node that is up runs (nothing more per step).
  if (!ctx.runner.starting(node)) return
  const attempt = record.attempts
  ctx.runner.whenUp(node, (up) => {
    if (record.attempts !== attempt || record.status !== 'running' || record.dispatchedAt !== at) return // that attempt is over
    record.nodeUpAt = up
    phase(ctx, record, 'running', node, up)
  })
  phase(ctx, record, 'starting', node, at)
}

function phase(ctx: RunContext, record: StepRecord, phase: 'starting' | 'running', node: number, at: number): void {
  if (!ctx.listening) return
  const event: PipelineEvent = { type: 'phase', step: record.name, attempt: record.attempts, phase, node, at }
  queueMicrotask(() => ctx.emit(event))
}

/** The value a `step` Pending stands for: a run parameter, or the output of a finished step of this level or one containing it. */
export function resolveStep(ctx: RunContext, level: Level, ref: Pending<unknown>): Promise<unknown> {
  const step = ref.step as StepId
  if (step.param !== undefined) {
    if (step.name in ctx.params) return Promise.resolve(ctx.params[step.name])
    if (step.param.hasDefault) return Promise.resolve(step.param.defaultValue)
    return Promise.reject(
      new SpindleError(
        'ERR_SPINDLE_MISSING_PARAM',
        `Parameter "${step.name}" of pipeline "${step.pipeline.name}" has no value. Pass it: run({ params: { ${step.name}: ... } }), or give it a default: p.param('${step.name}', value).`,
      ),
    )
  }
  for (let at: Level | undefined = level; at !== undefined; at = at.parent) {
    if (at.pipeline !== step.pipeline) continue
    if (at.outputs.has(step.name)) return Promise.resolve(at.outputs.get(step.name))
    break
  }
  return Promise.reject(
    new SpindleError(
      'ERR_SPINDLE_UNKNOWN_STEP',
      `Step "${step.name}" of pipeline "${step.pipeline.name}" was used before it finished: make the step that uses it depend on it (pass it as an argument, or in \`after\`).`,
    ),
  )
}
