/** Running one step of each kind, with its retries. A step's outcome never rejects: it says how it ended. */
import type { Pending } from '../task/pending.js'
import { dispatched, resolveStep, transition, type Level, type RunContext } from './context.js'
import { lookaheadFor, mapStep } from './map-step.js'
import type { StepDefinition } from './definition.js'
import { resolveShell, runShell } from './shell.js'
import type { StepRecord } from './types.js'
import { stepCacheKey } from './persistence.js'
import type { TraceParent } from '../observe/otel.js'

/**
 * What a parallel step ends with when none of its branches' steps failed but some were
 * cancelled (the run stopped under it): it is `cancelled`, as its children are, not `succeeded`.
 */
export const BRANCHES_CANCELLED: unique symbol = Symbol('spindle.branchesCancelled')

export interface Ended {
  readonly name: string
  readonly ok: boolean
  readonly value: unknown
}

/** Runs a step until it succeeds or has no retries left. A leaf's slot is the level's to give back, after it reports the end. */
export async function attempt(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord, trace?: TraceParent): Promise<Ended> {
  if (def.kind === 'call' && def.options.cache === true) {
    // Looked up before any attempt: a hit runs nothing, so it makes no attempt (and no `running`).
    const cached = await lookup(ctx, level, def, record)
    if (cached !== undefined) {
      record.reused = 'cache'
      return { name: def.name, ok: true, value: cached.value }
    }
  }
  const retries = def.options.retries ?? 0
  for (let delay = def.options.retryDelay ?? 100; ; delay *= 2) {
    record.attempts++
    record.dispatchedAt = undefined
    record.nodeUpAt = undefined
    transition(ctx, record, 'running')
    try {
      return { name: def.name, ok: true, value: await execute(ctx, level, def, record, trace) }
    } catch (error) {
      const stop = ctx.stop.signal
      if (stop.aborted || record.attempts > retries || error === BRANCHES_CANCELLED) return { name: def.name, ok: false, value: error }
      transition(ctx, record, 'pending', error) // failed this attempt; it will run again
      await sleep(delay, stop).catch(() => {})
      if (stop.aborted) return { name: def.name, ok: false, value: stop.reason }
    }
  }
}

/** Extra steps that may be in flight beside this one (see Slots): for a cheap call step with no deadline. */
export function lookahead(ctx: RunContext, def: StepDefinition): number {
  return def.kind === 'call' ? lookaheadFor(ctx, def.pending!, def.options.timeout) : 0
}

/**
 * Runs one attempt of a step: its value, or a promise of it. Not an async function: a plain call
 * step (the common case, thousands per run) returns its call's promise without wrapping it in
 * another one.
 */
function execute(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord, trace: TraceParent | undefined): unknown {
  switch (def.kind) {
    case 'stub':
      return undefined
    case 'shell':
      return shell(ctx, level, def, record)
    case 'call':
      return def.options.cache === true ? cachedCall(ctx, level, def, record, trace) : call(ctx, level, def, record, trace)
    case 'parallel':
      return parallel(ctx, level, def, trace)
    case 'map':
      return mapStep(ctx, level, def, record, trace)
  }
}

/** Parameters and step outputs in its command and env resolved, then the command, its lines streamed as events. */
async function shell(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord): Promise<unknown> {
  const resolved = await resolveShell(def.name, def.command!, def.shell, (ref) => resolveStep(ctx, level, ref))
  const { timeout } = def.options
  const stop = ctx.stop.signal
  const signal = timeout === undefined ? stop : AbortSignal.any([stop, AbortSignal.timeout(timeout)])
  const onLine = ctx.listening ? (stream: 'stdout' | 'stderr', line: string) => ctx.emit({ type: 'output', step: record.name, stream, line, at: Date.now() }) : undefined
  return runShell(def.name, resolved, signal, onLine)
}

function call(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord, trace: TraceParent | undefined): Promise<unknown> {
  const options = { signal: ctx.stop.signal, timeout: def.options.timeout, onDispatch: (node: number) => dispatched(ctx, record, node), label: record.name }
  return ctx.runner.runWithSteps(def.pending!, options, (ref) => resolveStep(ctx, level, ref), trace)
}

/**
 * The step's cache entry, if its key can be made and the entry is there. The key is kept for the
 * attempts; one that cannot be made (an argument that cannot be hashed) is made again by the
 * first attempt, which then fails with the reason.
 */
async function lookup(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord): Promise<{ value: unknown } | undefined> {
  try {
    const key = await cacheKeyOf(ctx, level, def, record)
    const cached = ctx.persistence.cache.get(key)
    return cached.hit ? { value: cached.value } : undefined
  } catch {
    return undefined
  }
}

async function cacheKeyOf(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord): Promise<string> {
  if (record.cacheKey !== undefined) return record.cacheKey
  const key = await stepCacheKey(def.pending!, (ref) => resolveStep(ctx, level, ref), (ref) => upstreamKey(level, ref))
  record.cacheKey = key
  level.keys.set(def.name, key)
  return key
}

/** A cache miss (see `lookup`): the call runs, and its value is stored under the step's key. */
async function cachedCall(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord, trace: TraceParent | undefined): Promise<unknown> {
  const key = await cacheKeyOf(ctx, level, def, record)
  const value = await call(ctx, level, def, record, trace)
  ctx.persistence.cache.put(key, value)
  return value
}

/** Every branch as a level of its own, on the run's one pool; the step fails if a branch does, and is cancelled if a branch was. */
async function parallel(ctx: RunContext, level: Level, def: StepDefinition, trace: TraceParent | undefined): Promise<unknown> {
  const names = Object.keys(def.branches!)
  const results = await Promise.all(
    names.map((branch) =>
      ctx.runLevel({ pipeline: def.branches![branch]!, prefix: `${level.prefix}${def.name}/${branch}/`, outputs: new Map(), keys: new Map(), parent: level, trace }),
    ),
  )
  const failed = results.findIndex((r) => r.status === 'failed')
  if (failed !== -1) {
    throw new Error(`Branch "${names[failed]}" of parallel step "${def.name}" failed: see its steps in run.steps.`, {
      cause: results[failed]!.error,
    })
  }
  if (results.some((r) => r.status === 'cancelled')) throw BRANCHES_CANCELLED
  return Object.fromEntries(names.map((branch, i) => [branch, results[i]!.result]))
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true })
  })
}

/** A step's provenance for a downstream cache key: its own key if cached, else its pipeline and name. */
function upstreamKey(level: Level, ref: Pending<unknown>): string {
  const { pipeline, name } = ref.step!
  for (let at: Level | undefined = level; at !== undefined; at = at.parent) {
    if (at.pipeline === pipeline) return at.keys.get(name) ?? `${pipeline.name}/${name}`
  }
  return ref.step!.param !== undefined ? `param:${name}` : `${pipeline.name}/${name}`
}
