/**
 * The scheduling loop of one pipeline level (the top, or a parallel branch): a list scheduler
 * hands out ready steps, critical path first; leaf steps start only while the run has a free
 * slot (`maxWorkers`, shared by every level), so no worker idles while a step is ready and the
 * pool is never oversubscribed. Composite steps (parallel, map) start at once and take no slot.
 */
import { StepGraph } from '../graph/step-graph.js'
import { SpindleError } from '../errors.js'
import { unknownStep } from '../graph/validate.js'
import { ListScheduler } from '../scheduler/list-scheduler.js'
import { Completions } from '../map/completions.js'
import { transition, type Level, type RunContext } from './context.js'
import type { Pipeline } from './pipeline.js'
import { attempt, type Ended } from './steps.js'
import type { StepRecord } from './types.js'

/**
 * The graph of one pipeline: validates names, unknown steps and cycles (before any work).
 * Recovery steps (`onFailure`) are not in it: they run only when the step they recover fails.
 */
export function graphOf(pipeline: Pipeline): StepGraph {
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
export function recoveryOf(pipeline: Pipeline): Map<string, string> {
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

function recoverySteps(pipeline: Pipeline): Set<string> {
  return new Set(recoveryOf(pipeline).values())
}

export async function runLevel(ctx: RunContext, level: Level): Promise<{ ok: boolean; result: unknown; error: unknown }> {
  const definitions = new Map(level.pipeline.steps.map((d) => [d.name, d]))
  const scheduler = new ListScheduler(graphOf(level.pipeline), { policy: ctx.executor.policy })
  const recovery = recoveryOf(level.pipeline)
  const recoverySet = new Set(recovery.values())
  const records = new Map<string, StepRecord>()
  for (const d of definitions.values()) {
    const record: StepRecord = { name: level.prefix + d.name, kind: d.kind, status: 'pending', attempts: 0, node: undefined, reused: undefined, cacheKey: undefined, startedAt: undefined, endedAt: undefined, error: undefined, blockedBy: undefined }
    records.set(d.name, record)
    ctx.records.push(record)
  }
  const ended = new Completions<Ended>()
  const waitingForSlot: string[] = [] // taken from the scheduler, in its order, until a slot frees
  let running = 0
  let failed = false
  let firstError: unknown
  let nextEnded: Promise<Ended> | undefined
  const stopped = () => ctx.stop.signal.aborted || (ctx.failed && !ctx.continueOnError)

  for (;;) {
    while (!stopped()) {
      const name = waitingForSlot.shift() ?? scheduler.next()
      if (name === undefined) break
      const def = definitions.get(name)!
      const earlier = ctx.persistence.resumed(level.prefix + name)
      if (earlier !== undefined) {
        // Done in the run being resumed: its recorded output stands in; nothing runs.
        const record = records.get(name)!
        Object.assign(record, { attempts: earlier.attempts, reused: 'resume' })
        level.outputs.set(name, earlier.value)
        transition(ctx, record, 'succeeded', undefined, earlier.value)
        scheduler.complete(name)
        continue
      }
      const leaf = def.kind !== 'parallel' && def.kind !== 'map'
      if (leaf && !ctx.slots.take()) {
        waitingForSlot.unshift(name)
        break
      }
      running++
      ended.add(attempt(ctx, level, def, records.get(name)!, leaf))
    }
    if (running === 0 && (waitingForSlot.length === 0 || stopped())) break
    if (running === 0) {
      await ctx.slots.released() // every slot is taken by other levels of the run
      continue
    }
    nextEnded ??= ended.next()
    const woke = waitingForSlot.length > 0 ? await Promise.race([nextEnded, ctx.slots.released()]) : await nextEnded
    if (woke === undefined) continue // a slot freed elsewhere in the run
    nextEnded = undefined
    const { name, ok, value, dispatch } = woke
    running--
    const record = records.get(name)!
    if (ok) {
      level.outputs.set(name, value)
      transition(ctx, record, 'succeeded', undefined, value, dispatch)
      if (!recoverySet.has(name)) scheduler.complete(name)
      continue
    }
    const cancelled = ctx.user?.aborted ?? false
    transition(ctx, record, cancelled ? 'cancelled' : 'failed', value, undefined, dispatch)
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
      continue
    }
    if (!cancelled) {
      failed = true
      firstError ??= value
      ctx.failed = true
      if (!ctx.continueOnError && ctx.cancelRunning) ctx.stop.abort(new Error(`step "${record.name}" failed`))
    }
  }
  // Steps that never started because the run stopped early.
  for (const [name, record] of records) {
    if (record.status !== 'pending') continue
    // A recovery step whose step did not fail was not needed: skipped. Anything else: cancelled.
    transition(ctx, record, recoverySet.has(name) && !ctx.stop.signal.aborted ? 'skipped' : 'cancelled')
  }
  const last = level.pipeline.steps.at(-1)
  return {
    ok: !failed && !ctx.stop.signal.aborted,
    result: last === undefined ? undefined : level.outputs.get(last.name),
    error: firstError ?? ctx.stop.signal.reason,
  }
}
