/**
 * The run log: one directory per pipeline run, so a run killed at any moment (even SIGKILL) can be
 * read back with every step it finished, which is what resume needs.
 *
 *   <dir>/<run id>/run.json              the run: pipeline, status, start/end, step names
 *   <dir>/<run id>/steps.jsonl           the journal: a line per step record (see records.ts)
 *   <dir>/<run id>/outputs/<hash>.v8     a succeeded step's output too large for its line
 *
 * run.json is replaced atomically (atomic-file.ts) at the start and the end; step records are
 * appended to the journal by group commit (journal.ts), an output file placed before the batch
 * that names it, so a record that says "output stored" always has its output on disk. A run whose
 * process died still says `running` in run.json, with the steps whose batches reached the disk.
 */
import { mkdirSync, openSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { SpindleError } from '../errors.js'
import { fsyncDirectory, writeFileAtomic } from './atomic-file.js'
import {
  FORMAT_VERSION,
  countSteps,
  decodeRun,
  encodeRun,
  type RunFile,
  type StepCounts,
  type StoredRunStatus,
  type StoredStep,
} from './records.js'
import { JOURNAL_FILE, OUTPUTS_DIR, RUN_FILE, RunWriter } from './run-writer.js'
import { deserializeOutput, readIfExists, readRecorded, readStoredOutput, readdirIfExists } from './stored-steps.js'
import type { StoredValue } from './stored-value.js'
import type { PoolStartBand } from './step-times.js'

export type { StepCounts, StepRecordData, StoredRunStatus, StoredStep } from './records.js'
export { RunWriter, type StepOutput } from './run-writer.js'
export type { StoredValue } from './stored-value.js'

/** How many recent run ids an unknown-run error lists. */
const RECENT_IDS = 10
/** Run ids become directory names: no separators, no leading dot (temporary and hidden names). */
const RUN_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/

export interface RunStart {
  readonly id: string
  readonly pipeline: string
  /** Epoch ms. */
  readonly startedAt: number
  /** Every step name, in definition order. */
  readonly steps: readonly string[]
}

/** A run as read back from the log. */
export interface StoredRun {
  readonly id: string
  readonly pipeline: string
  /** `running` for a run in progress, or one whose process died before `finish()`. */
  readonly status: StoredRunStatus
  readonly startedAt: number
  readonly endedAt: number | undefined
  /** The pool's start-up during the run, per node that started then (none: it was up before, or the backend does not say). */
  readonly poolStart: readonly PoolStartBand[]
  /** Every step name, in definition order, recorded or not. */
  readonly stepNames: readonly string[]
  /** The steps recorded so far, in definition order (steps not in `stepNames` last). */
  readonly steps: readonly StoredStep[]
  step(name: string): StoredStep | undefined
  /** A succeeded step's stored output, deserialized afresh on each call. */
  output(name: string): unknown
  /** A succeeded step's output as stored (its checked bytes, and its file if it has one), for recording it again without a copy. */
  storedOutput(name: string): StoredValue
}

/** One line of `spindle runs`. */
export interface StoredRunSummary {
  readonly id: string
  readonly pipeline: string
  readonly status: StoredRunStatus
  readonly startedAt: number
  readonly endedAt: number | undefined
  readonly steps: StepCounts
}

/** No run with this id is in the log; `recent` lists the newest ids that are. */
export class UnknownRunError extends SpindleError {
  readonly run: string
  readonly recent: readonly string[]
  constructor(message: string, run: string, recent: readonly string[]) {
    super('ERR_SPINDLE_UNKNOWN_RUN', message)
    this.run = run
    this.recent = recent
  }
}

export class RunLog {
  /** The absolute directory holding one subdirectory per run. */
  readonly dir: string

  private constructor(dir: string) {
    this.dir = dir
  }

  /** A log over `dir` (default `.spindle/runs` under the current directory); nothing is created until `begin()`. */
  static open(dir?: string): RunLog {
    return new RunLog(resolve(dir ?? join(process.cwd(), '.spindle', 'runs')))
  }

  /** Records the start of a run; its id must be new. */
  begin(run: RunStart): RunWriter {
    if (!RUN_ID.test(run.id)) {
      throw new SpindleError(
        'ERR_SPINDLE_INVALID_ARGUMENT',
        `Run id "${run.id}" cannot name a directory: use letters, digits, "_", "-" and ".", not starting with ".".`,
      )
    }
    mkdirSync(this.dir, { recursive: true })
    const runDir = join(this.dir, run.id)
    try {
      mkdirSync(runDir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      throw new SpindleError('ERR_SPINDLE_RUN_EXISTS', `Run "${run.id}" already exists in ${this.dir}; each run needs a new id.`)
    }
    mkdirSync(join(runDir, OUTPUTS_DIR))
    const journal = openSync(join(runDir, JOURNAL_FILE), 'a', 0o644)
    fsyncDirectory(this.dir)
    const file: RunFile = {
      version: FORMAT_VERSION,
      id: run.id,
      pipeline: run.pipeline,
      status: 'running',
      startedAt: run.startedAt,
      steps: [...run.steps],
    }
    writeFileAtomic(join(runDir, RUN_FILE), encodeRun(file)) // fsyncs runDir: the journal's and outputs' names too
    return new RunWriter(runDir, file, journal)
  }

  /** Reads a run back; throws `UnknownRunError` (listing recent ids) when there is none. */
  read(id: string): StoredRun {
    const runDir = join(this.dir, id)
    const where = join(runDir, RUN_FILE)
    const text = RUN_ID.test(id) ? readIfExists(where) : undefined
    if (text === undefined) throw this.#unknown(id)
    const file = decodeRun(text, where)
    const recorded = readRecorded(runDir, file)
    const listed = new Set(file.steps)
    const extra = [...recorded.keys()].filter((name) => !listed.has(name)).sort()
    const steps = [...listed, ...extra].flatMap((name) => recorded.get(name)?.step ?? [])
    return {
      id: file.id,
      pipeline: file.pipeline,
      status: file.status,
      startedAt: file.startedAt,
      endedAt: file.endedAt,
      poolStart: Array.isArray(file.poolStart) ? file.poolStart : [],
      stepNames: file.steps,
      steps,
      step: (name) => recorded.get(name)?.step,
      output: (name) => deserializeOutput(file.id, name, readStoredOutput(runDir, file, name, recorded)),
      storedOutput: (name) => readStoredOutput(runDir, file, name, recorded),
    }
  }

  /** Every readable run, newest first. Directories without a readable run.json are left out. */
  list(): StoredRunSummary[] {
    const summaries: StoredRunSummary[] = []
    for (const entry of readdirIfExists(this.dir)) {
      const summary = this.#summary(entry)
      if (summary !== undefined) summaries.push(summary)
    }
    return summaries.sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  }

  /**
   * The newest run of `pipeline`, reading runs newest first and stopping there: run ids begin
   * with their start time, so their names sort by it (a log of thousands of runs is not read
   * whole at the start of every run).
   */
  latest(pipeline: string): StoredRunSummary | undefined {
    const entries = readdirIfExists(this.dir).sort().reverse()
    for (const entry of entries) {
      const summary = this.#summary(entry)
      if (summary?.pipeline === pipeline) return summary
    }
    return undefined
  }

  /** A run directory's summary; undefined for what is not a readable run. */
  #summary(entry: string): StoredRunSummary | undefined {
    if (!RUN_ID.test(entry)) return undefined
    const runDir = join(this.dir, entry)
    try {
      const text = readIfExists(join(runDir, RUN_FILE))
      if (text === undefined) return undefined // a begin() killed before run.json, or not a run
      const file = decodeRun(text, join(runDir, RUN_FILE))
      const steps = file.counts ?? countSteps(file.steps, readRecorded(runDir, file))
      const { id, pipeline, status, startedAt, endedAt } = file
      return { id, pipeline, status, startedAt, endedAt, steps }
    } catch {
      return undefined // a damaged run must not hide the others from `spindle runs`; read(id) reports it
    }
  }

  #unknown(id: string): UnknownRunError {
    const recent = this.list().slice(0, RECENT_IDS).map((run) => run.id)
    const known = recent.length === 0 ? ': no runs are recorded there.' : `. Most recent runs, newest first: ${recent.join(', ')}.`
    return new UnknownRunError(`No run "${id}" in ${this.dir}${known}`, id, recent)
  }
}
