/**
 * The scheduling loop of one pipeline level (the top, or a parallel branch): a list scheduler
 * hands out ready steps, critical path first; leaf steps start only while the run has a free
 * slot (`maxWorkers`, shared by every level), so no worker idles while a step is ready and the
 * pool is never oversubscribed. Composite steps (parallel, map) start at once and take no slot.
 */
import { StepGraph } from '../graph/step-graph.js'
import { SpindleError } from '../errors.js'
import { unknownStep } from '../graph/validate.js'
import { ListScheduler } from '../graph/list-scheduler.js'
import { Completions } from '../map/completions.js'
import { transition, type Level, type LevelOutcome, type RunContext } from './context.js'
import type { PipelineDefinition, StepDefinition } from './definition.js'
import { attempt, BRANCHES_CANCELLED, lookahead, type Ended } from './steps.js'
import type { StepRecord } from './types.js'
import { endStepSpan, stepSpan, type TraceSpan } from '../observe/otel.js'

/**
 * The graph of one pipeline: validates names, unknown steps and cycles (before any work).
 * Recovery steps (`onFailure`) are not in it: they run only when the step they recover fails.
 */
export function graphOf(pipeline: PipelineDefinition): StepGraph {
  const recovery = recoverySteps(pipeline)
  const graph = new StepGraph()
  for (const d of pipeline.steps) {
    if (recovery.has(d.name)) continue
    const onRecovery = d.deps.find((dep) => recovery.has(dep))
    if (onRecovery !== undefined) {
      throw new SpindleError(
        'ERR_SPINDLE_INVALID_OPTION',
        `Step "${d.name}" depends on "${onRecovery}", which only runs when a step fails (onFailure). ` +
          'Make it depend on the step the recovery is for, or on neither.',
      )
    }
    graph.add(d.name, { deps: d.deps, priority: d.options.priority ?? 0 })
  }
  graph.validate()
  const names = pipeline.steps.map((d) => d.name)
  for (const name of recovery) if (!names.includes(name)) throw unknownStep(name, names)
  return graph
}

/** Step → its recovery step, for the steps with `onFailure`. */
export function recoveryOf(pipeline: PipelineDefinition): Map<string, string> {
  const map = new Map<string, string>()
  for (const d of pipeline.steps) {
    const target = d.options.onFailure
    if (target === undefined) continue
    if (typeof target !== 'string' && target.step!.pipeline !== pipeline) {
      throw new SpindleError(
        'ERR_SPINDLE_FOREIGN_STEP',
        `Step "${d.name}" recovers with step "${target.step!.name}" of pipeline "${target.step!.pipeline.name}": ` +
          `a recovery step must be a step of the same pipeline ("${pipeline.name}").`,
      )
    }
    map.set(d.name, typeof target === 'string' ? target : target.step!.name)
  }
  return map
}

function recoverySteps(pipeline: PipelineDefinition): Set<string> {
  return new Set(recoveryOf(pipeline).values())
}

/**
 * Bottom-level weights from the durations of the pipeline's last recorded run: a step's ms then,
 * or, for a step that did not run then, the median of those that did. Without a recorded run,
 * undefined: every step weighs 1 and bottom levels count steps.
 */
function recordedWeights(durations: ReadonlyMap<string, number>, prefix: string): ((name: string) => number) | undefined {
  if (durations.size === 0) return undefined
  const sorted = [...durations.values()].sort((a, b) => a - b)
  const median = sorted[sorted.length >> 1]!
  return (name) => durations.get(prefix + name) ?? median
}

/** A started step's span, kept until it ends. */
function startSpan(spans: Map<string, TraceSpan>, level: Level, name: string, record: StepRecord): TraceSpan {
  const span = stepSpan(level.trace!, record, level.pipeline.name)
  spans.set(name, span)
  return span
}

/** A step that runs on a worker (or a shell) and so takes a slot; composite steps take none. */
function isLeaf(def: StepDefinition): boolean {
  return def.kind !== 'parallel' && def.kind !== 'map'
}

export async function runLevel(ctx: RunContext, level: Level): Promise<LevelOutcome> {
  const definitions = new Map(level.pipeline.steps.map((d) => [d.name, d]))
  const weight = recordedWeights(ctx.persistence.durations, level.prefix)
  const scheduler = new ListScheduler(ctx.graphs.get(level.pipeline) ?? graphOf(level.pipeline), { policy: ctx.executor.policy, ...(weight && { weight }) })
  const recovery = recoveryOf(level.pipeline)
  const recoverySet = new Set(recovery.values())
  const records = new Map<string, StepRecord>()
  for (const d of definitions.values()) {
    const record: StepRecord = { name: level.prefix + d.name, kind: d.kind, status: 'pending', attempts: 0, node: undefined, reused: undefined, cacheKey: undefined, startedAt: undefined, attemptStartedAt: undefined, dispatchedAt: undefined, nodeUpAt: undefined, endedAt: undefined, times: undefined, error: undefined, blockedBy: undefined }
    records.set(d.name, record)
    ctx.records.push(record)
  }
  const ended = new Completions<Ended>()
  const waitingForSlot: string[] = [] // taken from the scheduler, in its order, until a slot frees
  // A slot freed by another level (a nested branch) wakes this one while it waits for a slot.
  const slots = ctx.slots.onRelease(() => waitingForSlot.length > 0 && ended.poke())
  /** A leaf's slot goes back once its end is reported, so the events never show more steps running than the slots allow. */
  const release = (name: string) => {
    if (isLeaf(definitions.get(name)!)) slots.give()
  }
  const spans = level.trace === undefined ? undefined : new Map<string, TraceSpan>() // a started step's span, when traced
  let running = 0
  let failed = false
  let firstError: unknown
  const stopped = () => ctx.stop.signal.aborted || (ctx.failed && !ctx.continueOnError)

  for (;;) {
    while (!stopped()) {
      const name = waitingForSlot.shift() ?? scheduler.next()
      if (name === undefined) break
      const def = definitions.get(name)!
      const earlier = ctx.persistence.resuming ? ctx.persistence.resumed(level.prefix + name) : undefined
      if (earlier !== undefined) {
        // Done in the run being resumed: its recorded output stands in; nothing runs.
        const record = records.get(name)!
        Object.assign(record, { attempts: earlier.attempts, reused: 'resume' })
        level.outputs.set(name, earlier.value)
        transition(ctx, record, 'succeeded', undefined, earlier.value)
        scheduler.complete(name)
        continue
      }
      if (isLeaf(def) && !ctx.slots.take(lookahead(ctx, def))) {
        waitingForSlot.unshift(name)
        break
      }
      running++
      const span = spans && startSpan(spans, level, name, records.get(name)!)
      ended.add(attempt(ctx, level, def, records.get(name)!, span?.parent))
    }
    if (running === 0 && (waitingForSlot.length === 0 || stopped())) break
    if (running === 0) {
      await ctx.slots.released() // every slot is taken by other levels of the run
      continue
    }
    const woke = await ended.nextOrPoke()
    if (woke === undefined) continue // a slot freed elsewhere in the run
    // Every step that has ended by now is taken in before refilling: the steps started next
    // then reach the pool together, and the dispatcher can send them in one message.
    for (let next: Ended | undefined = woke; next !== undefined; next = ended.poll()) onEnded(next)
  }
  /** Records how a step ended, readies what it unblocks, or skips what it blocks. */
  function onEnded({ name, ok, value }: Ended): void {
    running--
    const record = records.get(name)!
    if (ok) {
      level.outputs.set(name, value)
      transition(ctx, record, 'succeeded', undefined, value)
      if (spans !== undefined) endStepSpan(spans.get(name)!, record)
      release(name)
      if (!recoverySet.has(name)) scheduler.complete(name)
      return
    }
    // A parallel step whose branches were cancelled under it is cancelled, with the run's stop reason if any.
    const cancelled = value === BRANCHES_CANCELLED || (ctx.user?.aborted ?? false)
    transition(ctx, record, cancelled ? 'cancelled' : 'failed', value === BRANCHES_CANCELLED ? ctx.stop.signal.reason : value)
    if (spans !== undefined) endStepSpan(spans.get(name)!, record)
    release(name)
    const blocked = recoverySet.has(name) ? [] : scheduler.fail(name)
    // Downstream of a failure: skipped. Downstream of a cancellation: cancelled (below).
    for (const step of cancelled ? [] : blocked) {
      const skipped = records.get(step)!
      skipped.blockedBy = record.name
      transition(ctx, skipped, 'skipped')
    }
    const recoverWith = recovery.get(name)
    if (!cancelled && recoverWith !== undefined && records.get(recoverWith)!.status === 'pending') {
      // A recovery step handles this failure (runnable's on_failure): it runs; the run fails only if it does.
      waitingForSlot.push(recoverWith)
      return
    }
    if (!cancelled) {
      failed = true
      firstError ??= value
      ctx.failed = true
      if (!ctx.continueOnError && ctx.cancelRunning) ctx.stop.abort(new Error(`step "${record.name}" failed`))
    }
  }
  slots.stop()
  // Steps that never started because the run stopped early.
  for (const [name, record] of records) {
    if (record.status !== 'pending') continue
    // A recovery step whose step did not fail was not needed: skipped. Anything else: cancelled.
    transition(ctx, record, recoverySet.has(name) && !ctx.stop.signal.aborted ? 'skipped' : 'cancelled')
  }
  const last = level.pipeline.steps.at(-1)
  const cancelled = ctx.stop.signal.aborted || [...records.values()].some((r) => r.status === 'cancelled')
  return {
    status: failed ? 'failed' : cancelled ? 'cancelled' : 'succeeded',
    result: last === undefined ? undefined : level.outputs.get(last.name),
    error: firstError ?? ctx.stop.signal.reason,
  }
}
