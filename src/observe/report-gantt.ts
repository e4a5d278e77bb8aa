/**
 * The run as a Gantt chart in inline SVG: one row per node (more when a node's slices overlap
 * without nesting, as in the trace), then rows for steps that ran off the pool (shell, script,
 * stub). A bar per call or step attempt, coloured by how it ended (an attempt that threw and was
 * retried is orange, a run cut short by a lost node is violet); a thin pale bar before it is the
 * time it waited in the queue (blue) or for its node to start (amber); a grey "pool start" bar on
 * a node's row is its start-up during the run.
 */
import { packLanes, sliceWaits, type NodeSlice, type StepSpan, type Timeline } from './timeline.js'
import { clip } from './report-graph.js'
import { escapeHtml, STATUS_COLORS } from './report-assets.js'
import { POOL_START } from './trace.js'
import type { PoolStartBand } from '../runlog/step-times.js'

const WIDTH = 1100
const LABEL_W = 120
const ROW_H = 26
const AXIS_H = 24

interface Bar {
  readonly start: number
  readonly end: number
  /** What it waited for before `start`: the pool's queue, or its node's start-up. */
  readonly waits: ReadonlyArray<{ readonly from: number; readonly to: number; readonly kind: 'queued' | 'starting' }>
  readonly name: string
  readonly step: string | undefined
  readonly status: string
  readonly tip: string
}

export function ganttSvg(timeline: Timeline): string {
  const rows: Array<{ label: string; bars: Bar[] }> = []
  const slices = timeline.slices.map((s) => barOfSlice(s, timeline.steps, timeline.poolStart))
  for (const node of timeline.nodes) {
    const own = [...timeline.poolStart.filter((b) => b.node === node).map(poolStartBar), ...slices.filter((_, i) => timeline.slices[i]!.node === node)]
    packLanes(own.sort((a, b) => a.start - b.start || b.end - a.end)).forEach((bars, i) => rows.push({ label: i === 0 ? `node ${node}` : '', bars }))
  }
  const offPool = attemptBars(timeline.steps, (a, s) => a.node === undefined && s.kind !== 'parallel' && s.kind !== 'map' && s.kind !== 'call')
  packLanes(offPool.sort((a, b) => a.start - b.start)).forEach((bars, i) => rows.push({ label: i === 0 ? 'off the pool' : '', bars }))

  const span = Math.max(timeline.duration, 1)
  const x = (ms: number) => LABEL_W + (ms / span) * (WIDTH - LABEL_W - 10)
  const height = AXIS_H + rows.length * ROW_H + 6
  let out = `<svg class="gantt" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Timeline">`
  for (const tick of ticks(span)) {
    out += `<line x1="${x(tick)}" y1="${AXIS_H - 4}" x2="${x(tick)}" y2="${height}" stroke="#e5e7eb"/>`
    out += `<text x="${x(tick)}" y="${AXIS_H - 8}" class="tick" text-anchor="middle">${formatMs(tick)}</text>`
  }
  rows.forEach((row, r) => {
    const y = AXIS_H + r * ROW_H
    out += `<g class="lane"><text x="6" y="${y + 17}" class="lane-name">${escapeHtml(row.label)}</text>`
    // Waits first, so that no wait line crosses a bar; a bar nested in another (a chunk inside
    // the task that fanned it out) is drawn inset, on top.
    for (const bar of row.bars) {
      for (const wait of bar.waits) {
        const [xq, x0] = [x(wait.from), x(wait.to)]
        if (x0 - xq >= 1) out += `<rect class="wait ${wait.kind}" x="${xq}" y="${y + 11}" width="${x0 - xq}" height="4" fill="${STATUS_COLORS[wait.kind]}"/>`
      }
    }
    const open: Bar[] = []
    for (const bar of row.bars) {
      while (open.length > 0 && open.at(-1)!.end <= bar.start) open.pop()
      const inset = Math.min(open.length, 2) * 4
      open.push(bar)
      const [x0, x1] = [x(bar.start), Math.max(x(bar.end), x(bar.start) + 1.5)]
      const step = bar.step === undefined ? '' : ` data-step="${escapeHtml(bar.step)}"`
      out += `<g class="bar"${step}><title>${escapeHtml(bar.tip)}</title>`
      out += `<rect x="${x0}" y="${y + 3 + inset}" width="${x1 - x0}" height="${ROW_H - 6 - 2 * inset}" rx="2" fill="${STATUS_COLORS[bar.status] ?? '#999'}" stroke="#fff" stroke-width="${inset > 0 ? 1 : 0}"/>`
      if (x1 - x0 > 36) out += `<text x="${x0 + 4}" y="${y + 17}" class="bar-name">${escapeHtml(clip(bar.name, Math.floor((x1 - x0 - 6) / 6.5)))}</text>`
      out += '</g>'
    }
    out += '</g>'
  })
  return `${out}</svg>`
}

function barOfSlice(slice: NodeSlice, steps: readonly StepSpan[], poolStart: readonly PoolStartBand[]): Bar {
  // A failed call whose step tried again: the attempt was retried, not the step failed.
  const attempt = slice.step === undefined ? undefined : steps.find((s) => s.name === slice.step)?.attempts.find((a) => a.start <= slice.start + 1 && slice.end <= a.end + 1)
  const status = slice.status === 'failed' && attempt?.status === 'retried' ? 'retried' : slice.status
  // Its wait: in the queue, then (on a node still starting) for the node's start-up.
  const w = sliceWaits(slice, poolStart)
  const waits: Bar['waits'] = [
    { from: slice.queued, to: w.startingFrom, kind: 'queued' },
    { from: w.startingFrom, to: w.startingTo, kind: 'starting' },
    { from: w.startingTo, to: slice.start, kind: 'queued' },
  ]
  const wait = `queued ${formatMs(w.queued)}${w.starting > 0 ? `, starting ${formatMs(w.starting)}` : ''}`
  const tip =
    `${slice.name}${slice.step !== undefined && slice.step !== slice.name ? ` (step ${slice.step})` : ''}: ${status}` +
    `, ${formatMs(slice.end - slice.start)} on node ${slice.node}, ${wait}` +
    (slice.error === undefined ? '' : `\n${slice.error}`)
  return { start: slice.start, end: slice.end, waits, name: shortName(slice.name), step: slice.step, status, tip }
}

/** A node's start-up during the run, before the calls it ran. */
function poolStartBar(band: PoolStartBand): Bar {
  return { start: band.from, end: band.to, waits: [], name: POOL_START, step: undefined, status: POOL_START, tip: `node ${band.node}: ${POOL_START}, ${formatMs(band.to - band.from)}` }
}

function attemptBars(steps: readonly StepSpan[], keep: (a: StepSpan['attempts'][number], s: StepSpan) => boolean): Bar[] {
  return steps.flatMap((s) =>
    s.attempts
      .filter((a) => keep(a, s))
      .map((a): Bar => ({
        start: a.phases.up,
        end: a.end,
        waits: [
          { from: a.phases.start, to: a.phases.dispatched, kind: 'queued' },
          { from: a.phases.dispatched, to: a.phases.up, kind: 'starting' },
        ],
        name: `${shortName(s.name)} #${a.attempt}`,
        step: s.name,
        status: a.status,
        tip: `${s.name} (${s.kind}) attempt ${a.attempt}: ${a.status}, ${formatMs(a.end - a.start)}`,
      })),
  )
}

/** A nested step's bar says `branch/step`: the end of its name is what tells bars apart. */
function shortName(name: string): string {
  return name.split('/').slice(-2).join('/')
}

/** Round tick positions: 1, 2 or 5 × a power of ten, about eight of them. */
export function ticks(span: number): number[] {
  const raw = span / 8
  const power = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!
  const out: number[] = []
  for (let t = 0; t <= span + 1e-9; t += step) out.push(Math.round(t * 1e6) / 1e6)
  return out
}

export function formatMs(ms: number): string {
  if (ms === 0) return '0'
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`
  if (ms >= 10) return `${Math.round(ms)} ms`
  return `${ms.toFixed(ms >= 1 ? 1 : 2)} ms`
}
