/**
 * What a pipeline run keeps on disk: every step's record as it ends (in the run's journal, by
 * group commit, so a run killed at any moment loses no step anyone was told had finished),
 * outputs to resume from, and the step cache. The run loop asks four questions: was this step
 * done in the run we resume, is its result cached, where do I record it, and how long did each
 * step take the last time (the scheduler's weights); and it sends its events through
 * `afterDurable`, so an event follows the records made before it onto the disk.
 */
import type { Pending } from '../task/pending.js'
import { substitute, visitInOrder, type ArgumentPlan } from '../task/walk.js'
import { cacheKey, moduleHash, StepCache, type CacheLookup } from '../runlog/cache.js'
import { pruneRuns } from '../runlog/prune.js'
import { RunLog, type RunWriter, type StoredRun, type StoredValue } from '../runlog/run-log.js'
import { runLogOptions, type RunLogOptions } from '../runlog/run-log-options.js'
import { deserializeOutput } from '../runlog/stored-steps.js'
import type { PoolStartBand, RunStatus, StepRecord } from './types.js'
import { ranFor } from '../runlog/step-times.js'

export interface Persistence {
  /** Records a step that ended; `output` for a succeeded one (stored for resuming). */
  record(record: StepRecord, output?: unknown): void
  /** Runs `fn` once every step recorded so far is on disk (at once without a run log, or when they are). */
  afterDurable(fn: () => void): void
  /** Waits for every record, marks the run ended, then prunes older runs as `runLog.keep` asks. */
  /** `poolStart`: the pool's start-up during the run (pool-start.ts), kept in run.json. */
  finish(status: RunStatus, endedAt: number, poolStart?: readonly PoolStartBand[]): Promise<void>
  /** Whether this run resumes an earlier one (else `resumed` finds nothing). */
  readonly resuming: boolean
  /** The output of a step (full name) that succeeded in the run being resumed. */
  resumed(name: string): { value: unknown; attempts: number } | undefined
  readonly cache: Pick<StepCache, 'get' | 'put'>
  /** Steps' durations in ms (by full name) in the newest earlier run of this pipeline in the log. */
  readonly durations: ReadonlyMap<string, number>
}

export interface PersistenceOptions {
  /** Directory of run records, `false` for none, or `{ dir, keep }`. @default '.spindle/runs' */
  runLog?: string | false | RunLogOptions
  /** The id of an earlier run of this pipeline: steps that succeeded there are not run again. */
  resume?: string
  /** Directory of the step cache. @default '.spindle/cache' */
  cacheDir?: string
}

export function openPersistence(options: PersistenceOptions, run: { id: string; pipeline: string; startedAt: number; steps: string[] }): Persistence {
  const { dir, keep } = runLogOptions(options.runLog)
  const log = dir === false ? undefined : RunLog.open(dir)
  const earlier: StoredRun | undefined = options.resume === undefined ? undefined : RunLog.open(dir || undefined).read(options.resume)
  const durations = log === undefined ? new Map<string, number>() : lastDurations(log, run.pipeline)
  const writer: RunWriter | undefined = log?.begin(run)
  const cache = StepCache.open(options.cacheDir)
  // Outputs already serialized and on disk (cache entries, the resumed run's outputs): recorded
  // as links to those files, not serialized and written a second time.
  const stored = new Map<string, StoredValue>()
  const remember = (key: string, value: StoredValue | undefined) => writer !== undefined && value !== undefined && stored.set(key, value)
  return {
    durations,
    cache: {
      get(key): CacheLookup {
        const found = cache.get(key)
        if (found.hit) remember(`cache:${key}`, found.stored)
        return found
      },
      put(key, value) {
        const entry = cache.put(key, value)
        remember(`cache:${key}`, entry)
        return entry
      },
    },
    resuming: earlier !== undefined,
    record(record, output) {
      if (writer === undefined) return
      const known = record.reused === 'resume' ? `resume:${record.name}` : record.cacheKey !== undefined ? `cache:${record.cacheKey}` : undefined
      const already = known === undefined ? undefined : stored.get(known)
      if (known !== undefined) stored.delete(known)
      const data = { ...record, ...(record.cacheKey !== undefined && { cacheKey: record.cacheKey }) }
      writer.step(data, record.status !== 'succeeded' ? undefined : already !== undefined ? { stored: already } : { value: output })
    },
    afterDurable(fn) {
      if (writer === undefined) fn()
      else writer.afterDurable(fn)
    },
    async finish(status, endedAt, poolStart) {
      if (writer === undefined) return
      await writer.finish(status, endedAt, poolStart)
      if (keep === undefined) return
      try {
        pruneRuns(log!, { keep, pipeline: run.pipeline })
      } catch (error) {
        // The run is recorded; a log that cannot be pruned costs disk space, not the run.
        process.emitWarning(`Could not prune the run log ${log!.dir}: ${(error as Error).message}.`, { code: 'SPINDLE_PRUNE_FAILED' })
      }
    },
    resumed(name) {
      const step = earlier?.step(name)
      if (step === undefined || step.status !== 'succeeded' || !step.hasOutput) return undefined
      try {
        const output = earlier!.storedOutput(name)
        const value = deserializeOutput(earlier!.id, name, output)
        remember(`resume:${name}`, output)
        return { value, attempts: step.attempts }
      } catch (error) {
        // A damaged record is not trusted: the step runs again.
        if ((error as { code?: string }).code !== 'ERR_SPINDLE_CORRUPT_RUN') throw error
        process.emitWarning(`${(error as Error).message} The step runs again.`, { code: 'SPINDLE_CORRUPT_RUN' })
        return undefined
      }
    },
  }
}

/** How long each step that ran took in the newest recorded run of `pipeline`; none if there is none (or it cannot be read). */
function lastDurations(log: RunLog, pipeline: string): Map<string, number> {
  const durations = new Map<string, number>()
  try {
    const last = log.latest(pipeline)
    if (last === undefined) return durations
    for (const step of log.read(last.id).steps) {
      // Reused steps (cache, resume) did not run. Time queued in the pool, or waiting for it to start, is not the step's.
      const ran = ranFor(step)
      if (step.status === 'succeeded' && ran !== undefined) durations.set(step.name, ran)
    }
  } catch {
    // A damaged log costs the weights, never the run.
  }
  return durations
}

/**
 * A call step's cache key: the task (module URL, export, the module file's content), its
 * arguments with step outputs in place (nested calls by their own task and arguments, at any
 * depth of arrays and objects), and the keys of the steps it reads. A changed input, parameter
 * or module never hits a stale entry. The graph is walked iteratively, each Pending described
 * after what it contains.
 */
export async function stepCacheKey(
  pending: Pending<unknown>,
  resolve: (ref: Pending<unknown>) => Promise<unknown>,
  upstreamKey: (ref: Pending<unknown>) => string,
): Promise<string> {
  const order: Array<{ pending: Pending<unknown>; plan: ArgumentPlan }> = []
  const seen = new Set<Pending<unknown>>()
  visitInOrder(pending, (p) => seen.has(p), (p, plan) => (seen.add(p), order.push({ pending: p, plan })))
  // What is asynchronous (step outputs, module hashes) first, all at once; then each description in order.
  const upstream: string[] = []
  const steps = new Map<Pending<unknown>, Promise<unknown>>()
  const modules = new Map<string, Promise<string>>()
  for (const { pending: p } of order) {
    if (p.kind === 'step') {
      upstream.push(upstreamKey(p))
      steps.set(p, resolve(p))
    } else if (p.kind === 'call' && !modules.has(p.task!.module)) {
      modules.set(p.task!.module, moduleHash(p.task!.module))
    }
  }
  const stepValues = new Map(await Promise.all([...steps].map(async ([p, value]) => [p, await value] as const)))
  const hashes = new Map(await Promise.all([...modules].map(async ([url, hash]) => [url, await hash] as const)))
  // A nested call or gather is described by a key of its own (a Merkle tree): however deep the
  // graph, every description hashed is shallow.
  const described = new Map<Pending<unknown>, unknown>()
  const argsOf = (p: Pending<unknown>, plan: ArgumentPlan) => substitute(p.args, plan, (d) => described.get(d))
  for (const { pending: p, plan } of order) {
    if (p === pending) break // the root comes last
    if (p.kind === 'step') described.set(p, stepValues.get(p))
    else if (p.kind === 'gather') described.set(p, { gather: cacheKey({ module: '', exportName: 'gather', moduleSource: '', args: argsOf(p, plan), upstream: [] }) })
    else described.set(p, { call: cacheKey({ module: p.task!.module, exportName: p.task!.name, moduleSource: hashes.get(p.task!.module)!, args: argsOf(p, plan), upstream: [] }) })
  }
  const task = pending.task!
  const args = argsOf(pending, order.at(-1)!.plan)
  return cacheKey({ module: task.module, exportName: task.name, moduleSource: hashes.get(task.module)!, args, upstream })
}
