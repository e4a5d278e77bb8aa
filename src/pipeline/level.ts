/**
 * The scheduling loop of one pipeline level (the top, or a parallel branch): a list scheduler
 * hands out ready steps, critical path first; leaf steps start only while the run has a free
 * slot (`maxWorkers`, shared by every level), so no worker idles while a step is ready and the
 * pool is never oversubscribed. Composite steps (parallel, map) start at once and take no slot.
 */
import { StepGraph } from '../graph/step-graph.js'
import { ListScheduler } from '../scheduler/list-scheduler.js'
import { Completions } from '../map/completions.js'
import { transition, type Level, type RunContext } from './context.js'
import type { Pipeline } from './pipeline.js'
import { attempt, type Ended } from './steps.js'
import type { StepRecord } from './types.js'

/** The graph of one pipeline: validates names, unknown steps and cycles (before any work). */
export function graphOf(pipeline: Pipeline): StepGraph {
  const graph = new StepGraph()
  for (const d of pipeline.steps) graph.add(d.name, { deps: d.deps, priority: d.options.priority ?? 0 })
  graph.validate()
  return graph
}

export async function runLevel(ctx: RunContext, level: Level): Promise<{ ok: boolean; result: unknown; error: unknown }> {
  const definitions = new Map(level.pipeline.steps.map((d) => [d.name, d]))
  const scheduler = new ListScheduler(graphOf(level.pipeline), { policy: ctx.executor.policy })
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
    const { name, ok, value } = woke
    running--
    const record = records.get(name)!
    if (ok) {
      level.outputs.set(name, value)
      transition(ctx, record, 'succeeded', undefined, value)
      scheduler.complete(name)
      continue
    }
    const cancelled = ctx.user?.aborted ?? false
    transition(ctx, record, cancelled ? 'cancelled' : 'failed', value)
    const blocked = scheduler.fail(name)
    // Downstream of a failure: skipped. Downstream of a cancellation: cancelled (below).
    for (const step of cancelled ? [] : blocked) {
      const skipped = records.get(step)!
      skipped.blockedBy = record.name
      transition(ctx, skipped, 'skipped')
    }
    if (!cancelled) {
      failed = true
      firstError ??= value
      ctx.failed = true
      if (!ctx.continueOnError && ctx.cancelRunning) ctx.stop.abort(new Error(`step "${record.name}" failed`))
    }
  }
  // Steps that never started because the run stopped early.
  for (const record of records.values()) if (record.status === 'pending') transition(ctx, record, 'cancelled')
  const last = level.pipeline.steps.at(-1)
  return {
    ok: !failed && !ctx.stop.signal.aborted,
    result: last === undefined ? undefined : level.outputs.get(last.name),
    error: firstError ?? ctx.stop.signal.reason,
  }
}
