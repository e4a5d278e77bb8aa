/**
 * Retention for the run log: a directory per run piles up without end (and the step cache lives
 * beside it, untouched here). `pruneRuns` keeps the newest `keep` runs and/or those younger than
 * `olderThan`, and removes the rest. A run still marked `running` is kept whatever its age: it
 * may be in progress (a run whose process died says so too: remove it by hand, or resume it).
 * Each run is renamed to a hidden name before it is deleted, so `spindle runs` never lists a
 * half-removed run.
 */
import { renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidOptionError } from '../errors.js'
import type { RunLog, StoredRunSummary } from './run-log.js'

export interface PruneOptions {
  /** Keep the newest `keep` runs. */
  readonly keep?: number | undefined
  /** Keep runs that started less than this many ms ago. */
  readonly olderThan?: number | undefined
  /** Only runs of this pipeline are counted and removed (`runLog: { keep }`); others are left alone. */
  readonly pipeline?: string | undefined
  /** Epoch ms that "ago" counts from. @default Date.now() */
  readonly now?: number
}

export interface PruneResult {
  readonly removed: readonly StoredRunSummary[]
  readonly kept: number
}

export function pruneRuns(log: RunLog, options: PruneOptions): PruneResult {
  const { keep, olderThan, pipeline, now = Date.now() } = options
  if (keep === undefined && olderThan === undefined) {
    throw new InvalidOptionError('Pruning the run log needs `keep` (the newest runs to keep) or `olderThan` (an age), or both.')
  }
  const runs = log.list().filter((run) => pipeline === undefined || run.pipeline === pipeline) // newest first
  const removed: StoredRunSummary[] = []
  runs.forEach((run, position) => {
    if (run.status === 'running') return
    const beyondKeep = keep === undefined || position >= keep
    const old = olderThan === undefined || run.startedAt < now - olderThan
    if (!(beyondKeep && old)) return
    const dir = join(log.dir, run.id)
    const doomed = join(log.dir, `.pruning-${run.id}`)
    renameSync(dir, doomed)
    rmSync(doomed, { recursive: true, force: true })
    removed.push(run)
  })
  return { removed, kept: runs.length - removed.length }
}

/** `30s`, `15m`, `12h`, `7d` as ms; undefined when `text` is not such an age. */
export function parseAge(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim())
  if (match === null) return undefined
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 's' | 'm' | 'h' | 'd' | 'w']
  return Number(match[1]) * unit
}
