/**
 * A progress display for pipeline runs, fed by `run({ onEvent })`. On a terminal it redraws one
 * status line (done / running / starting / queued / failed, elapsed time, an ETA, the running steps'
 * names); on anything else it writes one plain line per finished step, so logs stay readable;
 * with `json` it writes every event as one JSON object per line, for other programs. Running
 * counts leaf steps only: a parallel step runs nothing itself (its branches' steps are counted),
 * so the count never exceeds the workers; a step whose call waits for its node to start (the
 * pool's start-up, a `phase` event) is `starting`, not running. Steps reused from the cache or a resumed run say so.
 */
import type { PipelineEvent } from '../pipeline/types.js'
import { printable } from '../printable.js'
import { Eta, type RunHistory } from './eta.js'

export interface ProgressOptions {
  /** Where to draw. @default process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
  /** Force the redrawn line (true) or plain lines (false). @default stream.isTTY */
  live?: boolean
  /** One JSON object per event and per line (errors as `{ name, message, code }`), nothing else. @default false */
  json?: boolean
  /**
   * An earlier run of the pipeline: its leaf steps' durations and wall time (the CLI reads the
   * newest from the run log). The ETA is based on them; without, on the steps finished so far.
   */
  history?: RunHistory
}

const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled'])
/** How often the live line is redrawn between events: the elapsed time ticks, and a line that task output cleared comes back. */
const TICK_MS = 500

export function pipelineProgress(options: ProgressOptions = {}): (event: PipelineEvent) => void {
  const stream = options.stream ?? process.stderr
  if (options.json === true) return (event) => void stream.write(`${JSON.stringify(jsonEvent(event))}\n`)
  const live = options.live ?? stream.isTTY === true
  const states = new Map<string, string>()
  /** Parallel steps: not counted while they run, since their branches' steps are (and take the workers). */
  const containers = new Set<string>()
  /** Map steps' items: "done/total", shown beside the step while it runs. */
  const items = new Map<string, string>()
  /** Running steps whose call waits for its node to start (a `phase` event): counted as starting, not running. */
  const starting = new Set<string>()
  const reused = { cache: 0, resume: 0 }
  const eta = new Eta(options.history)
  let started = 0
  let drawn = false
  let ticker: NodeJS.Timeout | undefined

  const count = (status: string) => [...states].filter(([name, s]) => s === status && !(s === 'running' && containers.has(name))).length
  const elapsed = (at: number) => seconds(at - started)
  const draw = (at: number) => {
    const running = [...states].filter(([name, s]) => s === 'running' && !containers.has(name) && !starting.has(name)).map(([name]) => printable(items.has(name) ? `${name} ${items.get(name)}` : name))
    const left = eta.estimate(at)
    const line =
      `${count('succeeded')} done, ${running.length} running, ${starting.size > 0 ? `${starting.size} starting, ` : ''}${count('pending')} queued, ${count('failed')} failed` +
      ` | ${elapsed(at)}${left === undefined ? '' : `, ETA ~${seconds(left)}`}${running.length > 0 ? ` | ${running.join(', ')}` : ''}`
    const width = Math.max(20, (stream.columns || 100) - 1)
    stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
    drawn = true
  }

  return (event) => {
    if (event.type === 'output') return // the CLI writes steps' lines to stdout and stderr
    if (event.type === 'run') {
      if (event.status === 'running') {
        started = event.at
        for (const step of event.steps ?? []) {
          states.set(step, 'pending')
          eta.pending(step)
        }
        if (live) {
          ticker = setInterval(() => draw(Date.now()), TICK_MS)
          ticker.unref() // a display never keeps the program alive
        }
        return
      }
      clearInterval(ticker)
      if (live && drawn) stream.write('\r\x1b[2K')
      const cancelled = count('cancelled') > 0 ? `, ${count('cancelled')} cancelled` : ''
      stream.write(`run ${event.status} in ${elapsed(event.at)}: ${count('succeeded')} steps succeeded${reusedNote(reused)}, ${count('failed')} failed, ${count('skipped')} skipped${cancelled}\n`)
      return
    }
    if (event.type === 'pool') return // the steps waiting for it say `starting`
    if (event.type === 'phase') {
      if (event.phase === 'starting') starting.add(event.step)
      else starting.delete(event.step)
      if (live) draw(event.at)
      return
    }
    if (event.type === 'items') {
      items.set(event.step, `${event.done}/${event.total}`)
      if (live) draw(event.at)
      return
    }
    // A nested branch's steps appear as they start: the parent composite step stands for them
    // until then, so they join the counts here.
    const { step, status } = event
    const wasRunning = states.get(step) === 'running'
    states.set(step, status)
    starting.delete(step) // an attempt began or ended: its call is not sent yet, or done
    if (event.kind === 'parallel') {
      containers.add(step)
      eta.forget(step)
    } else if (status === 'running') {
      eta.started(step, event.at)
    } else if (status === 'pending') {
      eta.pending(step)
    } else if (FINISHED.has(status)) {
      eta.finished(step, event.at, wasRunning && status === 'succeeded' && event.reused === undefined)
    }
    if (status === 'succeeded' && event.reused !== undefined) reused[event.reused]++
    if (live) return draw(event.at)
    if (FINISHED.has(status)) {
      const why = (status === 'failed' || status === 'cancelled') && event.error instanceof Error ? `: ${event.error.message}` : ''
      const from = event.reused === undefined ? '' : ` (reused from ${event.reused})`
      stream.write(`[${elapsed(event.at)}] ${printable(`${step} ${status}${from}${why}`)}\n`)
    }
  }
}

/** ` (1 reused from cache)`: steps that succeeded without running. */
function reusedNote(reused: { cache: number; resume: number }): string {
  const parts = [reused.cache > 0 && `${reused.cache} reused from cache`, reused.resume > 0 && `${reused.resume} from resume`].filter((p) => p !== false)
  if (parts.length === 0) return ''
  return ` (${reused.cache > 0 ? parts.join(', ') : `${reused.resume} reused from resume`})`
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
