/**
 * The pipeline's graph as inline SVG, laid out by hand (no layout library, nothing fetched):
 * left to right by dependency depth (a step's column is one more than its deepest dependency's),
 * a parallel step as a frame holding one labelled group per branch, each laid out the same way,
 * to any depth. Boxes are coloured by how the step ended.
 */
import type { PipelineShape } from './recording.js'
import { escapeHtml, STATUS_COLORS } from './report-assets.js'

interface Laid {
  readonly w: number
  readonly h: number
  /** The SVG of the laid-out item with its top-left corner at (x, y). */
  readonly svg: (x: number, y: number) => string
}

export interface StepFacts {
  readonly status: string
  readonly attempts: number
}

const BOX_W = 150
const BOX_H = 34
const GAP_X = 44
const GAP_Y = 14
const PAD = 10
const LABEL_H = 20

/** The whole graph as an `<svg>` element; `facts` by full step name (`par/branch/step`). */
export function graphSvg(shape: PipelineShape, facts: ReadonlyMap<string, StepFacts>): string {
  const laid = layLevel(shape, '', facts)
  const w = laid.w + 2 * PAD
  const h = laid.h + 2 * PAD
  return (
    `<svg class="graph" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="Step graph of ${escapeHtml(shape.name)}">` +
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">' +
    '<path d="M0,0 L8,4 L0,8 z" fill="#6b7280"/></marker></defs>' +
    laid.svg(PAD, PAD) +
    '</svg>'
  )
}

/** Dependency depth of each step of one level: 0 without dependencies. The graph was validated acyclic. */
export function depths(shape: PipelineShape): Map<string, number> {
  const deps = new Map(shape.steps.map((s) => [s.name, s.deps]))
  const depth = new Map<string, number>()
  const of = (name: string): number => {
    const known = depth.get(name)
    if (known !== undefined) return known
    const d = Math.max(-1, ...(deps.get(name) ?? []).filter((n) => deps.has(n)).map(of)) + 1
    depth.set(name, d)
    return d
  }
  for (const step of shape.steps) of(step.name)
  return depth
}

function layLevel(shape: PipelineShape, prefix: string, facts: ReadonlyMap<string, StepFacts>): Laid {
  const depth = depths(shape)
  const columns: Array<Array<{ name: string; laid: Laid }>> = []
  for (const step of shape.steps) {
    const laid = step.branches === undefined ? layStep(prefix + step.name, step.name, step.kind, facts) : layParallel(prefix, step.name, step.branches, facts)
    ;(columns[depth.get(step.name)!] ??= []).push({ name: step.name, laid })
  }
  const widths = columns.map((col) => Math.max(...col.map((c) => c.laid.w)))
  const heights = columns.map((col) => col.reduce((sum, c) => sum + c.laid.h, 0) + GAP_Y * (col.length - 1))
  const w = widths.reduce((a, b) => a + b, 0) + GAP_X * Math.max(0, columns.length - 1)
  const h = Math.max(0, ...heights)
  return {
    w,
    h,
    svg: (x0, y0) => {
      const at = new Map<string, { x: number; y: number; laid: Laid }>()
      let x = x0
      columns.forEach((col, c) => {
        let y = y0 + (h - heights[c]!) / 2 // each column centred: edges cross less
        for (const { name, laid } of col) {
          at.set(name, { x, y, laid })
          y += laid.h + GAP_Y
        }
        x += widths[c]! + GAP_X
      })
      let edges = ''
      for (const step of shape.steps) {
        const to = at.get(step.name)!
        for (const dep of step.deps) {
          const from = at.get(dep)
          if (from === undefined) continue
          const [x1, y1, x2, y2] = [from.x + from.laid.w, from.y + from.laid.h / 2, to.x, to.y + to.laid.h / 2]
          const bend = Math.max(12, (x2 - x1) / 2)
          edges += `<path class="edge" d="M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}" fill="none" stroke="#6b7280" stroke-width="1.3" marker-end="url(#arrow)"/>`
        }
      }
      return edges + [...at.values()].map(({ x, y, laid }) => laid.svg(x, y)).join('')
    },
  }
}

function layStep(full: string, name: string, kind: string, facts: ReadonlyMap<string, StepFacts>): Laid {
  const fact = facts.get(full)
  const status = fact?.status ?? 'pending'
  const retries = fact !== undefined && fact.attempts > 1 ? ` · ${fact.attempts} attempts` : ''
  const title = `${full} (${kind}): ${status}${retries}`
  return {
    w: BOX_W,
    h: BOX_H,
    svg: (x, y) =>
      `<g class="step" data-step="${escapeHtml(full)}"><title>${escapeHtml(title)}</title>` +
      `<rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="5" fill="${STATUS_COLORS[status] ?? '#c7ccd1'}"/>` +
      `<text x="${x + 8}" y="${y + 14}" class="name">${escapeHtml(clip(name, 20))}</text>` +
      `<text x="${x + 8}" y="${y + 27}" class="sub">${escapeHtml(`${kind} · ${status}${retries === '' ? '' : ` · ×${fact!.attempts}`}`)}</text></g>`,
  }
}

function layParallel(prefix: string, name: string, branches: Readonly<Record<string, PipelineShape>>, facts: ReadonlyMap<string, StepFacts>): Laid {
  const full = prefix + name
  const inner = Object.entries(branches).map(([branch, sub]) => ({ branch, laid: layLevel(sub, `${full}/${branch}/`, facts) }))
  const innerW = Math.max(BOX_W, ...inner.map((b) => b.laid.w + 2 * PAD))
  const w = innerW + 2 * PAD
  const h = LABEL_H + inner.reduce((sum, b) => sum + LABEL_H + b.laid.h + 2 * PAD + GAP_Y, 0) + PAD - GAP_Y + PAD
  const status = facts.get(full)?.status ?? 'pending'
  return {
    w,
    h,
    svg: (x, y) => {
      let out =
        `<g class="step parallel" data-step="${escapeHtml(full)}"><title>${escapeHtml(`${full} (parallel): ${status}`)}</title>` +
        `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="7" fill="#f8fafc" stroke="${STATUS_COLORS[status] ?? '#c7ccd1'}" stroke-width="2"/>` +
        `<text x="${x + 8}" y="${y + 15}" class="name">${escapeHtml(clip(name, 28))} ∥</text></g>`
      let top = y + LABEL_H + PAD
      for (const { branch, laid } of inner) {
        const bh = LABEL_H + laid.h + 2 * PAD
        out +=
          `<g class="branch"><rect x="${x + PAD}" y="${top}" width="${innerW}" height="${bh}" rx="5" fill="#eef2f7" stroke="#cbd5e1" stroke-dasharray="4 3"/>` +
          `<text x="${x + PAD + 6}" y="${top + 14}" class="branch-name">${escapeHtml(clip(branch, 30))}</text></g>` +
          laid.svg(x + PAD + PAD, top + LABEL_H + PAD / 2)
        top += bh + GAP_Y
      }
      return out
    },
  }
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
