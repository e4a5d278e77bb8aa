/**
 * What a pipeline run keeps on disk: every step's record as it ends (atomically, so a run killed
 * at any moment loses no finished step), outputs to resume from, and the step cache. The run loop
 * asks four questions: was this step done in the run we resume, is its result cached, where do
 * I record it, and how long did each step take the last time (the scheduler's weights).
 */
import { isPending, type Pending } from '../task/pending.js'
import { cacheKey, moduleHash, StepCache } from '../runlog/cache.js'
import { RunLog, type RunWriter, type StoredRun } from '../runlog/run-log.js'
import type { StepRecord } from './types.js'
import type { RunStatus } from './types.js'

export interface Persistence {
  /** Records a step that ended; `output` for a succeeded one (stored for resuming). */
  record(record: StepRecord, output?: unknown): void
  finish(status: RunStatus, endedAt: number): void
  /** Whether this run resumes an earlier one (else `resumed` finds nothing). */
  readonly resuming: boolean
  /** The output of a step (full name) that succeeded in the run being resumed. */
  resumed(name: string): { value: unknown; attempts: number } | undefined
  readonly cache: StepCache
  /** Steps' durations in ms (by full name) in the newest earlier run of this pipeline in the log. */
  readonly durations: ReadonlyMap<string, number>
}

export interface PersistenceOptions {
  /** Directory of run records, or `false` for none. @default '.spindle/runs' */
  runLog?: string | false
  /** The id of an earlier run of this pipeline: steps that succeeded there are not run again. */
  resume?: string
  /** Directory of the step cache. @default '.spindle/cache' */
  cacheDir?: string
}

export function openPersistence(options: PersistenceOptions, run: { id: string; pipeline: string; startedAt: number; steps: string[] }): Persistence {
  const log = options.runLog === false ? undefined : RunLog.open(options.runLog)
  const earlier: StoredRun | undefined = options.resume === undefined ? undefined : RunLog.open(options.runLog || undefined).read(options.resume)
  const durations = log === undefined ? new Map<string, number>() : lastDurations(log, run.pipeline)
  const writer: RunWriter | undefined = log?.begin(run)
  return {
    durations,
    cache: StepCache.open(options.cacheDir),
    resuming: earlier !== undefined,
    record(record, output) {
      writer?.step({ ...record, ...(record.cacheKey !== undefined && { cacheKey: record.cacheKey }) }, record.status === 'succeeded' ? { value: output } : undefined)
    },
    finish(status, endedAt) {
      writer?.finish(status, endedAt)
    },
    resumed(name) {
      const step = earlier?.step(name)
      if (step === undefined || step.status !== 'succeeded' || !step.hasOutput) return undefined
      try {
        return { value: earlier!.output(name), attempts: step.attempts }
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
      // Reused steps (cache, resume) did not run: they have no start. Time queued in the pool is not the step's.
      const start = step.dispatchedAt ?? step.startedAt
      if (step.status === 'succeeded' && start !== undefined && step.endedAt !== undefined) durations.set(step.name, step.endedAt - start)
    }
  } catch {
    // A damaged log costs the weights, never the run.
  }
  return durations
}

/**
 * A call step's cache key: the task (module URL, export, the module file's content), its
 * arguments with step outputs in place (nested calls by their own task and arguments), and the
 * keys of the steps it reads. A changed input, parameter or module never hits a stale entry.
 */
export async function stepCacheKey(
  pending: Pending<unknown>,
  resolve: (ref: Pending<unknown>) => Promise<unknown>,
  upstreamKey: (ref: Pending<unknown>) => string,
): Promise<string> {
  const upstream: string[] = []
  const describe = async (value: unknown): Promise<unknown> => {
    if (!isPending(value)) return value
    if (value.kind === 'step') {
      upstream.push(upstreamKey(value))
      return resolve(value)
    }
    if (value.kind === 'gather') return Promise.all(value.args.map(describe))
    return { call: [value.task!.module, value.task!.name, await moduleHash(value.task!.module)], args: await Promise.all(value.args.map(describe)) }
  }
  const args = await Promise.all(pending.args.map(describe))
  const task = pending.task!
  return cacheKey({ module: task.module, exportName: task.name, moduleSource: await moduleHash(task.module), args, upstream })
}
