/**
 * What the progress display knows before a run starts: how long each leaf step took in the newest
 * finished run of the same pipeline in the run log, and that run's wall time (the ETA's basis).
 * A damaged or missing log only costs the estimate.
 */
import { RunLog } from '../runlog/run-log.js'
import { ranFor } from '../runlog/step-times.js'
import type { RunHistory } from '../progress/eta.js'

export function runHistory(logDir: string, pipeline: string): RunHistory | undefined {
  try {
    const log = RunLog.open(logDir)
    const last = log.latest(pipeline)
    if (last === undefined || last.endedAt === undefined) return undefined
    const durations = new Map<string, number>()
    for (const step of log.read(last.id).steps) {
      // Steps that ran and succeeded; not parallel steps, whose time is their branches'; not reused ones, which did not run.
      if (step.kind === 'parallel' || step.status !== 'succeeded' || step.reused !== undefined) continue
      const ran = ranFor(step) // time queued in the pool, or waiting for it to start, is not the step's
      if (ran !== undefined) durations.set(step.name, ran)
    }
    return durations.size === 0 ? undefined : { durations, wallMs: last.endedAt - last.startedAt }
  } catch {
    return undefined
  }
}
