/**
 * A progress display for pipeline runs, fed by `run({ onEvent })`. On a terminal it redraws one
 * status line (done / running / queued / failed, elapsed time, an ETA, the running steps'
 * names); on anything else it writes one plain line per finished step, so logs stay readable;
 * with `json` it writes every event as one JSON object per line, for other programs.
 */
import type { PipelineEvent } from '../pipeline/types.js'
import { printable } from '../printable.js'

export interface ProgressOptions {
  /** Where to draw. @default process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
  /** Force the redrawn line (true) or plain lines (false). @default stream.isTTY */
  live?: boolean
  /** One JSON object per event and per line (errors as `{ name, message, code }`), nothing else. @default false */
  json?: boolean
}

const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled'])
/** How often the live line is redrawn between events: the elapsed time ticks, and a line that task output cleared comes back. */
const TICK_MS = 500

export function pipelineProgress(options: ProgressOptions = {}): (event: PipelineEvent) => void {
  const stream = options.stream ?? process.stderr
  if (options.json === true) return (event) => void stream.write(`${JSON.stringify(jsonEvent(event))}\n`)
  const live = options.live ?? stream.isTTY === true
  const states = new Map<string, string>()
  /** Map steps' items: "done/total", shown beside the step while it runs. */
  const items = new Map<string, string>()
  let started = 0
  let drawn = false
  let ticker: NodeJS.Timeout | undefined

  const count = (status: string) => [...states.values()].filter((s) => s === status).length
  const elapsed = (at: number) => seconds(at - started)
  const draw = (at: number) => {
    const running = [...states].filter(([, s]) => s === 'running').map(([name]) => printable(items.has(name) ? `${name} ${items.get(name)}` : name))
    const eta = estimate(states, at - started)
    const line =
      `${count('succeeded')} done, ${running.length} running, ${count('pending')} queued, ${count('failed')} failed` +
      ` | ${elapsed(at)}${eta === undefined ? '' : `, ETA ~${seconds(eta)}`}${running.length > 0 ? ` | ${running.join(', ')}` : ''}`
    const width = Math.max(20, (stream.columns || 100) - 1)
    stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
    drawn = true
  }

  return (event) => {
    if (event.type === 'run') {
      if (event.status === 'running') {
        started = event.at
        for (const step of event.steps ?? []) states.set(step, 'pending')
        if (live) {
          ticker = setInterval(() => draw(Date.now()), TICK_MS)
          ticker.unref() // a display never keeps the program alive
        }
        return
      }
      clearInterval(ticker)
      if (live && drawn) stream.write('\r\x1b[2K')
      const cancelled = count('cancelled') > 0 ? `, ${count('cancelled')} cancelled` : ''
      stream.write(`run ${event.status} in ${elapsed(event.at)}: ${count('succeeded')} steps succeeded, ${count('failed')} failed, ${count('skipped')} skipped${cancelled}\n`)
      return
    }
    if (event.type === 'items') {
      items.set(event.step, `${event.done}/${event.total}`)
      if (live) draw(event.at)
      return
    }
    // A nested branch's steps appear as they start: the parent composite step stands for them
    // until then, so they join the counts here.
    if (!states.has(event.step) && event.status === 'pending') states.set(event.step, 'pending')
    states.set(event.step, event.status)
    if (live) return draw(event.at)
    if (FINISHED.has(event.status)) {
      const why = (event.status === 'failed' || event.status === 'cancelled') && event.error instanceof Error ? `: ${event.error.message}` : ''
      stream.write(`[${elapsed(event.at)}] ${printable(`${event.step} ${event.status}${why}`)}\n`)
    }
  }
}

/**
 * Time left, from the rate at which steps have finished so far: steps of one pipeline differ
 * too much for a per-step guess, and the finishing rate already reflects how many run at once.
 * Undefined until a step has finished (no rate yet) and once nothing is left.
 */
export function estimate(states: ReadonlyMap<string, string>, elapsedMs: number): number | undefined {
  let finished = 0
  let left = 0
  for (const status of states.values()) {
    if (FINISHED.has(status)) finished++
    else left++
  }
  if (finished === 0 || left === 0) return undefined
  return (elapsedMs / finished) * left
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/** An event as plain JSON: an error keeps its name, message and code (JSON.stringify drops them). */
function jsonEvent(event: PipelineEvent): object {
  if (event.type !== 'step' || event.error === undefined) return event
  const error = event.error
  const code = (error as { code?: unknown } | null)?.code
  const shown = error instanceof Error ? { name: error.name, message: error.message, ...(typeof code === 'string' && { code }) } : { message: String(error) }
  return { ...event, error: shown }
}
