/**
 * Run records as text for a terminal: the summary after `spindle run`, the history table of
 * `spindle runs`, and one run's steps for `spindle runs show <id>`. Plain columns, no colour:
 * the output is as readable in a CI log as on a terminal, and stable enough to grep. Every cell
 * goes through `printable`: names and messages come from users' programs.
 */
import type { PoolStartBand, RunRecord, StepStatus } from '../pipeline/types.js'
import { POOL_START } from '../observe/trace.js'
import type { StepCounts, StoredRun, StoredRunSummary } from '../runlog/run-log.js'
import type { Invocation } from './invocation.js'
import { printable } from '../printable.js'
import { lastLines } from '../pipeline/shell.js'

interface StepLine {
  readonly name: string
  readonly status: string
  readonly attempts: number
  readonly startedAt: number | undefined
  readonly endedAt: number | undefined
  readonly error: unknown
  readonly blockedBy: string | undefined
  readonly reused?: string | undefined
}

/** After a run: its id (what `resume` and `runs show` take), how it ended, then each step. */
export function formatRunSummary(record: RunRecord): string {
  const head = `Run ${record.id} of "${printable(record.pipeline)}" ${record.status} in ${duration(record.startedAt, record.endedAt)}\n`
  const pool = record.poolStart.length === 0 ? '' : `  ${POOL_START}  ${poolStart(record.poolStart)}\n`
  return head + pool + formatSteps(record.steps)
}

export function formatRunList(runs: readonly StoredRunSummary[], logDir: string): string {
  if (runs.length === 0) return `No runs recorded in ${logDir}.\n`
  const rows = runs.map((r) => [r.id, r.pipeline, r.status, new Date(r.startedAt).toISOString(), r.endedAt === undefined ? '-' : duration(r.startedAt, r.endedAt), counts(r.steps)])
  return table([['ID', 'PIPELINE', 'STATUS', 'STARTED', 'DURATION', 'STEPS'], ...rows])
}

export function formatRunShow(run: StoredRun, invocation: Invocation | undefined): string {
  const lines = [
    `Run ${run.id}`,
    `  pipeline  ${printable(run.pipeline)}`,
    `  status    ${run.status}${run.status === 'running' ? ' (still running, or its process died)' : ''}`,
    `  started   ${new Date(run.startedAt).toISOString()}`,
    `  duration  ${run.endedAt === undefined ? '-' : duration(run.startedAt, run.endedAt)}`,
  ]
  if (run.poolStart.length > 0) lines.push(`  ${POOL_START}  ${poolStart(run.poolStart)}`)
  if (invocation !== undefined) lines.push(`  file      ${printable(invocation.file)}`)
  const params = Object.entries(invocation?.params ?? {})
  if (params.length > 0) lines.push(`  params    ${printable(params.map(([name, text]) => `${name}=${text}`).join(' '))}`)
  const recorded = new Set(run.steps.map((s) => s.name))
  const never = run.stepNames.filter((n) => !recorded.has(n))
  const steps: StepLine[] = [...run.steps, ...never.map((name) => ({ name, status: 'pending', attempts: 0, startedAt: undefined, endedAt: undefined, error: undefined, blockedBy: undefined }))]
  return `${lines.join('\n')}\nSteps:\n${formatSteps(steps)}${formatShellTails(run)}`
}

/**
 * The last lines each shell (and script) step printed: from its stored output when it
 * succeeded, from its error when it failed (a failed command's error carries both tails).
 */
function formatShellTails(run: StoredRun): string {
  const blocks: string[] = []
  for (const step of run.steps) {
    if (step.kind !== 'shell') continue
    let streams: { stdout?: unknown; stderr?: unknown }
    try {
      streams = step.hasOutput ? (run.output(step.name) as typeof streams) : ((step.error ?? {}) as typeof streams)
    } catch (error) {
      blocks.push(`Output of ${printable(step.name)}: cannot be read (${printable((error as Error).message)})\n`)
      continue
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const text = streams?.[stream]
      if (typeof text !== 'string' || text.trim() === '') continue
      const tail = lastLines(text)
      blocks.push(`Last lines of ${printable(step.name)} (${stream}):\n${tail.split('\n').map((line) => `  ${printable(line)}`).join('\n')}\n`)
    }
  }
  return blocks.join('')
}

/** One line per step: name, status, attempts, duration, and why it failed or was skipped. */
export function formatSteps(steps: readonly StepLine[]): string {
  if (steps.length === 0) return '  (no steps)\n'
  const rows = steps.map((s) => [
    s.name,
    s.status,
    `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`,
    s.startedAt !== undefined && s.endedAt !== undefined ? duration(s.startedAt, s.endedAt) : '-',
    note(s),
  ])
  return table(rows, '  ')
}

function note(step: StepLine): string {
  if (step.reused !== undefined) return `(reused from ${step.reused})`
  if (step.blockedBy !== undefined) return `(blocked by ${step.blockedBy})`
  if (step.error === undefined || step.status === 'succeeded') return ''
  const error = step.error
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return text.split('\n')[0]!
}

/** `0.6 s (2 nodes)`: until the last node that started during the run was up, from the first start. */
function poolStart(bands: readonly PoolStartBand[]): string {
  const from = Math.min(...bands.map((b) => b.from))
  const to = Math.max(...bands.map((b) => b.to))
  return `${duration(from, to)} (${bands.length} node${bands.length === 1 ? '' : 's'})`
}

const ORDER: readonly StepStatus[] = ['succeeded', 'failed', 'running', 'cancelled', 'skipped', 'pending']

/** `4/5 succeeded, 1 failed`: the total once, then the non-zero counts. */
export function counts(steps: StepCounts): string {
  const total = ORDER.reduce((sum, s) => sum + (steps[s] ?? 0), 0)
  const parts = ORDER.filter((s) => (steps[s] ?? 0) > 0 && s !== 'succeeded').map((s) => `${steps[s]} ${s}`)
  return [`${steps.succeeded ?? 0}/${total} succeeded`, ...parts].join(', ')
}

export function duration(from: number, to: number): string {
  const ms = Math.max(0, to - from)
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** Columns padded to their widest cell; the last column is not padded (no trailing spaces). */
function table(rows: readonly (readonly string[])[], indent = ''): string {
  rows = rows.map((r) => r.map(printable))
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n'
}
