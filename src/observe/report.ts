/**
 * A run report as one self-contained HTML file: inline CSS, inline SVG (drawn here, server
 * side, so it shows without scripts), and a small inline script that builds the sortable step
 * table from the embedded data and links table rows to the graph and the timeline on hover.
 * Nothing is fetched: the file opens from a mail attachment or an air-gapped machine.
 */
import type { RunRecord } from '../pipeline/types.js'
import type { Recording } from './recording.js'
import { buildTimeline, type Timeline } from './timeline.js'
import { graphSvg, type StepFacts } from './report-graph.js'
import { formatMs, ganttSvg } from './report-gantt.js'
import { errorText, POOL_START } from './trace.js'
import { printable } from '../printable.js'
import { escapeHtml, jsonForScript, REPORT_CSS, REPORT_SCRIPT, STATUS_COLORS } from './report-assets.js'

/** One row of the step table, as embedded in the report (times in ms from the run's start). */
export interface ReportRow {
  readonly name: string
  readonly kind: string
  readonly status: string
  readonly attempts: number
  readonly node: number | null
  readonly start: number | null
  readonly duration: number | null
  /** ms its attempts waited in the pool's queue, for their node to start, and ran: the step's `times` (null: it did not run). */
  readonly queued: number | null
  readonly starting: number | null
  readonly running: number | null
  readonly reused: string | null
  readonly error: string | null
}

/** The report of a finished run: `record` is what `pipeline.run()` returned, `recording` what the recorder saw. */
export function renderReport(record: RunRecord, recording: Recording): string {
  const timeline = buildTimeline(recording)
  const rows = reportRows(record)
  const facts = new Map<string, StepFacts>(record.steps.map((s) => [s.name, { status: s.status, attempts: s.attempts }]))
  const counts = countBy(record.steps.map((s) => s.status))
  const title = `${record.pipeline}: ${record.status}`
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${REPORT_CSS}</style></head>`,
    '<body>',
    `<header><h1>${escapeHtml(record.pipeline)} <span class="badge" style="background:${STATUS_COLORS[record.status]}">${record.status}</span></h1>`,
    `<p class="summary">Run <code>${escapeHtml(record.id)}</code> · ${escapeHtml(new Date(record.startedAt).toISOString())} · ` +
      `${formatMs(record.endedAt - record.startedAt)} · ${escapeHtml(Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', '))}` +
      `${timeline.nodes.length > 0 ? ` · ${timeline.nodes.length} node(s) used` : ''}${poolStartNote(record)}</p></header>`,
    `<section id="graph"><h2>Graph</h2><div class="scroll">${graphSvg(recording.pipeline, facts)}</div></section>`,
    `<section id="timeline"><h2>Timeline</h2>${legend()}<div class="scroll">${ganttSvg(timeline)}</div></section>`,
    '<section id="steps"><h2>Steps</h2><table id="step-table"><thead><tr>' +
      ['step', 'kind', 'status', 'attempts', 'node', 'start', 'duration', 'queued', 'starting', 'running', 'reused', 'error'].map((h) => `<th data-key="${h}">${h}</th>`).join('') +
      '</tr></thead><tbody></tbody></table><noscript>The step table needs JavaScript; the graph and timeline above do not.</noscript></section>',
    `<section id="errors"><h2>Errors</h2>${errorsHtml(record, timeline)}</section>`,
    outputHtml(recording),
    `<script type="application/json" id="spindle-data">${jsonForScript({ rows })}</script>`,
    `<script>${REPORT_SCRIPT}</script>`,
    '</body></html>',
  ].join('\n')
}

/** The step table: each step's queued / starting / running are its record's `times`, the figures the trace and the run log show. */
export function reportRows(record: RunRecord): ReportRow[] {
  return record.steps.map((s) => {
    return {
      name: s.name,
      kind: s.kind,
      status: s.status,
      attempts: s.attempts,
      node: s.node ?? null,
      start: s.startedAt === undefined ? null : s.startedAt - record.startedAt,
      duration: s.startedAt === undefined || s.endedAt === undefined ? null : s.endedAt - s.startedAt,
      queued: s.times?.queued ?? null,
      starting: s.times?.starting ?? null,
      running: s.times?.running ?? null,
      reused: s.reused ?? null,
      error: s.error === undefined ? (s.blockedBy === undefined ? null : `blocked by ${s.blockedBy}`) : errorText(s.error),
    }
  })
}

function legend(): string {
  const items = ['succeeded', 'failed', 'retried', 'interrupted', 'cancelled', 'running']
  return (
    '<p class="legend">' +
    items.map((s) => `<span><i style="background:${STATUS_COLORS[s]}"></i>${s}</span>`).join('') +
    `<span><i class="thin" style="background:${STATUS_COLORS.queued}"></i>waiting in the queue</span>` +
    `<span><i class="thin" style="background:${STATUS_COLORS.starting}"></i>waiting for its node to start</span>` +
    `<span><i style="background:${STATUS_COLORS['pool start']}"></i>pool start</span></p>`
  )
}

/** ` · pool start 612 ms`: the longest node start-up during the run (none: the pool was up before). */
function poolStartNote(record: RunRecord): string {
  const longest = Math.max(0, ...record.poolStart.map((b) => b.to - b.from))
  return record.poolStart.length === 0 ? '' : ` · ${POOL_START} ${escapeHtml(formatMs(longest))}`
}

/** Every error of the run: each failed step's, and each retried attempt's (from the events), with stacks and causes. */
function errorsHtml(record: RunRecord, timeline: Timeline): string {
  const entries: string[] = []
  const item = (step: string, what: string, error: unknown) =>
    `<details class="error" data-step="${escapeHtml(step)}" open><summary><b>${escapeHtml(step)}</b> ${escapeHtml(what)}: ` +
    `${escapeHtml(errorText(error))}</summary><pre>${escapeHtml(describe(error))}</pre></details>`
  for (const span of timeline.steps) {
    for (const a of span.attempts) if (a.status === 'retried' && a.error !== undefined) entries.push(item(span.name, `attempt ${a.attempt} threw (retried)`, a.error))
  }
  for (const s of record.steps) {
    if (s.error === undefined || s.status === 'succeeded') continue
    entries.push(item(s.name, s.status === 'failed' ? `failed after ${s.attempts} attempt(s)` : s.status, s.error))
  }
  return entries.length === 0 ? '<p class="none">No errors.</p>' : entries.join('\n')
}

/** The last lines shell and script steps printed, per step and stream (none: no section). */
function outputHtml(recording: Recording): string {
  const entries = Object.entries(recording.output ?? {}).flatMap(([step, tail]) =>
    (['stdout', 'stderr'] as const).flatMap((stream) =>
      tail[stream].length === 0
        ? []
        : [
            `<details class="output" data-step="${escapeHtml(step)}" open><summary><b>${escapeHtml(step)}</b> ${stream}, last ${tail[stream].length} line(s)</summary>` +
              `<pre>${escapeHtml(tail[stream].map(printable).join('\n'))}</pre></details>`,
          ],
    ),
  )
  return entries.length === 0 ? '' : `<section id="output"><h2>Output</h2>${entries.join('\n')}</section>`
}

/** Stack, own fields (`code`, ...) and the cause chain, as text. */
function describe(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return String(error)
  const fields = Object.entries(error).filter(([k]) => k !== 'cause' && k !== 'stack' && k !== 'message')
  const own = fields.length === 0 ? '' : `\n${fields.map(([k, v]) => `  ${k}: ${safeJson(v)}`).join('\n')}`
  const cause = error.cause !== undefined && depth < 5 ? `\nCaused by: ${describe(error.cause, depth + 1)}` : ''
  return `${error.stack ?? `${error.name}: ${error.message}`}${own}${cause}`
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1
  return counts
}
