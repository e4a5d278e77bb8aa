/**
 * The run log's records: their shapes in memory, their JSON form on disk, and the file names of
 * steps. Kept apart from the file handling so the format is visible in one place.
 *
 * On disk (version 2):
 *   run.json                 { version, id, pipeline, status, startedAt, endedAt?, steps, counts?, poolStart? }
 *   steps.jsonl              one step record per line, appended as steps end (journal.ts):
 *                              { name, kind, status, attempts, startedAt?, dispatchedAt?, endedAt?, times?,
 *                                error?, blockedBy?, cacheKey?, reused?, output: boolean, outputHash?,
 *                                inline?, outputError? }
 *                            a later line for the same step replaces an earlier one
 *   outputs/<hash>.v8        an output larger than INLINE_MAX bytes, in the stored-value format
 *                            (stored-value.ts), named by the SHA-256 of its bytes; smaller ones
 *                            are `inline` in their line (base64)
 * Version 1 (read, no longer written) kept a file per step: steps/<safe-name>.json (the same
 * fields, pretty-printed) and steps/<safe-name>.out (the raw `v8.serialize`d bytes).
 * `error` is `encodeThrown`'s JSON (name, message, stack, code, cause survive); `undefined` fields
 * are left out, since JSON has no undefined.
 */
import { createHash } from 'node:crypto'
import { SpindleError } from '../errors.js'
import { decodeThrown, encodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import type { PoolStartBand, StepTimes } from './step-times.js'

export const FORMAT_VERSION = 2
/** Outputs of at most this many bytes are kept in their record's line; larger ones get a file. */
export const INLINE_MAX = 4096

export type StepKind = 'call' | 'shell' | 'stub' | 'parallel' | 'map'

/** pending → running → succeeded | failed; skipped (a dependency failed); cancelled (never finished). */
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled'

export type RunStatus = 'succeeded' | 'failed' | 'cancelled'

/** What the runner knows about a step when it records it (a `StepRecord` fits). */
export interface StepRecordData {
  readonly name: string
  readonly kind: StepKind
  readonly status: StepStatus
  readonly attempts: number
  readonly startedAt: number | undefined
  /** When its last attempt's call reached a node (call steps). */
  readonly dispatchedAt?: number | undefined
  readonly endedAt: number | undefined
  /** ms its attempts spent queued, waiting for their node to start, and running (step-times.ts). */
  readonly times?: StepTimes | undefined
  /** What the last attempt threw, as thrown; stored through the error codec. */
  readonly error: unknown
  readonly blockedBy: string | undefined
  /** The step cache key its output was (or would be) stored under. */
  readonly cacheKey?: string | undefined
  /** Where a succeeded step's output came from when it did not run. */
  readonly reused?: 'cache' | 'resume' | undefined
}

/** A step as read back: the record, with `error` rebuilt, and whether an output is stored. */
export interface StoredStep extends StepRecordData {
  /** A succeeded step whose output was stored: `StoredRun.output(name)` returns it. */
  readonly hasOutput: boolean
  /** SHA-256 of the stored output's bytes (absent in records written before it was kept). */
  readonly outputHash: string | undefined
  /** Why a succeeded step's output could not be stored (it could not be serialized). */
  readonly outputError: string | undefined
}

export type StoredRunStatus = 'running' | RunStatus

/** Steps of a run counted by status; steps never recorded count as `pending`. */
export type StepCounts = Record<StepStatus, number>

export interface RunFile {
  readonly version: number
  readonly id: string
  readonly pipeline: string
  readonly status: StoredRunStatus
  readonly startedAt: number
  readonly endedAt?: number
  /** Every step name, in definition order. */
  readonly steps: readonly string[]
  /** Written by `finish()`, so `list()` need not read every step of finished runs. */
  readonly counts?: StepCounts
  /** Nodes that started during the run: from the pool's start to each one's first `up` (epoch ms). */
  readonly poolStart?: readonly PoolStartBand[]
}

interface StepFile {
  version: number
  name: string
  kind: StepKind
  status: StepStatus
  attempts: number
  startedAt?: number
  dispatchedAt?: number
  endedAt?: number
  times?: StepTimes
  error?: EncodedThrown
  blockedBy?: string
  cacheKey?: string
  reused?: 'cache' | 'resume'
  output: boolean
  /** SHA-256 of the output's bytes: an output changed on disk is detected, not trusted. */
  outputHash?: string
  /** A small output's bytes, base64 (version 2). */
  inline?: string
  outputError?: string
}

/** A step as read back, with where its output is: in its line (`inline`, base64), else in a file. */
export interface RecordedStep {
  readonly step: StoredStep
  readonly inline: string | undefined
}

/** A stored output, as a record names it. */
export interface OutputRef {
  readonly hash: string
  /** The bytes, for an output small enough to sit in the record's line. */
  readonly inline?: Buffer | undefined
}

const STATUSES: readonly StepStatus[] = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']

export function emptyCounts(): StepCounts {
  return Object.fromEntries(STATUSES.map((s) => [s, 0])) as StepCounts
}

/**
 * A file name for any step name: readable (percent-encoded, cut at 100 characters) plus 12 hex
 * digits of its SHA-256, so names differing only in case or past the cut never share a file on
 * case-insensitive file systems, and nothing reaches the 255-byte name limit. Only
 * `[A-Za-z0-9_%-]` survive the encoding: no dots (no hidden files, no `..`), no `*` or `~`.
 */
export function stepFileBase(name: string): string {
  const readable = encodeURIComponent(name)
    .replace(/[^A-Za-z0-9_%-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .slice(0, 100)
  return `${readable}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`
}

/** A step's journal line (one line of JSON, ending in a newline). */
export function encodeStep(record: StepRecordData, output: OutputRef | undefined, outputError: string | undefined): string {
  // Assigned field by field, not spread: this runs once per step, thousands of times a second.
  const file: StepFile = { version: FORMAT_VERSION, name: record.name, kind: record.kind, status: record.status, attempts: record.attempts, output: output !== undefined }
  if (record.startedAt !== undefined) file.startedAt = record.startedAt
  if (record.dispatchedAt !== undefined) file.dispatchedAt = record.dispatchedAt
  if (record.endedAt !== undefined) file.endedAt = record.endedAt
  if (record.times !== undefined) file.times = record.times
  if (record.error !== undefined) file.error = encodeThrown(record.error)
  if (record.blockedBy !== undefined) file.blockedBy = record.blockedBy
  if (record.cacheKey !== undefined) file.cacheKey = record.cacheKey
  if (record.reused !== undefined) file.reused = record.reused
  if (output !== undefined) file.outputHash = output.hash
  if (output?.inline !== undefined) file.inline = output.inline.toString('base64')
  if (outputError !== undefined) file.outputError = outputError
  return `${JSON.stringify(file)}\n`
}

/**
 * Every step of a journal, the last line of each name winning. The text after the last newline
 * is a batch cut short by a crash (or a power cut, which can leave zeros there): not a record.
 * Any complete line that is not a record is damage, reported with its line number.
 */
export function decodeJournal(text: string, where: string): Map<string, RecordedStep> {
  const steps = new Map<string, RecordedStep>()
  const lines = text.split('\n')
  lines.pop() // after the last newline: empty, or a torn tail
  lines.forEach((line, i) => {
    if (/^\0*$/.test(line) && lines.slice(i).every((rest) => /^\0*$/.test(rest))) return // zeros to the end: a torn tail
    const recorded = decodeStep(line, `${where} (line ${i + 1})`)
    steps.set(recorded.step.name, recorded)
  })
  return steps
}

/** Parses a step record (a line, or a version 1 file); `where` names it in the error when it is not one. */
export function decodeStep(text: string, where: string): RecordedStep {
  const file = parseObject(text, where) as Partial<StepFile>
  if (typeof file.name !== 'string' || !STATUSES.includes(file.status as StepStatus)) {
    throw corrupt(where, 'it is not a step record')
  }
  const step: StoredStep = {
    name: file.name,
    kind: file.kind as StepKind,
    status: file.status as StepStatus,
    attempts: typeof file.attempts === 'number' ? file.attempts : 0,
    startedAt: file.startedAt,
    dispatchedAt: file.dispatchedAt,
    endedAt: file.endedAt,
    times: isTimes(file.times) ? file.times : undefined,
    error: file.error === undefined ? undefined : decodeThrown(file.error),
    blockedBy: file.blockedBy,
    cacheKey: file.cacheKey,
    reused: file.reused === 'cache' || file.reused === 'resume' ? file.reused : undefined,
    hasOutput: file.output === true,
    outputHash: file.outputHash,
    outputError: file.outputError,
  }
  return { step, inline: typeof file.inline === 'string' ? file.inline : undefined }
}

function isTimes(value: unknown): value is StepTimes {
  const t = value as Partial<StepTimes> | undefined
  return typeof t?.queued === 'number' && typeof t.starting === 'number' && typeof t.running === 'number'
}

export function encodeRun(run: RunFile): string {
  return `${JSON.stringify(run, null, 2)}\n`
}

export function decodeRun(text: string, where: string): RunFile {
  const file = parseObject(text, where) as Partial<RunFile>
  const ok =
    typeof file.id === 'string' &&
    typeof file.pipeline === 'string' &&
    typeof file.startedAt === 'number' &&
    (file.status === 'running' || file.status === 'succeeded' || file.status === 'failed' || file.status === 'cancelled') &&
    Array.isArray(file.steps)
  if (!ok) throw corrupt(where, 'it is not a run record')
  return file as RunFile
}

function parseObject(text: string, where: string): object {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw corrupt(where, 'it is not valid JSON', error)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw corrupt(where, 'it is not a JSON object')
  return value
}

function corrupt(where: string, why: string, cause?: unknown): SpindleError {
  return new SpindleError(
    'ERR_SPINDLE_CORRUPT_RUN',
    `Cannot read the run log file ${where}: ${why}. spindle writes these files atomically, so it was ` +
      `changed by something else; delete the run's directory to discard the run.`,
    { cause },
  )
}

/** Counts by status: every listed step (unrecorded ones as `pending`), plus recorded extras. */
export function countSteps(names: readonly string[], recorded: ReadonlyMap<string, StepStatus | RecordedStep>): StepCounts {
  const counts = emptyCounts()
  const statusOf = (name: string): StepStatus => {
    const got = recorded.get(name)
    return got === undefined ? 'pending' : typeof got === 'string' ? got : got.step.status
  }
  const listed = new Set(names)
  for (const name of listed) counts[statusOf(name)]++
  for (const name of recorded.keys()) if (!listed.has(name)) counts[statusOf(name)]++
  return counts
}
