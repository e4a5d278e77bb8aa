/**
 * A progress display for pipeline runs, fed by `run({ onEvent })`. On a terminal it redraws one
 * status line (done / running / queued / failed, the running steps' names, elapsed time); on
 * anything else it writes one plain line per finished step, so logs stay readable.
 */
import type { PipelineEvent } from '../pipeline/types.js'

export interface ProgressOptions {
  /** Where to draw. @default process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
  /** Force the redrawn line (true) or plain lines (false). @default stream.isTTY */
  live?: boolean
}

export function pipelineProgress(options: ProgressOptions = {}): (event: PipelineEvent) => void {
  const stream = options.stream ?? process.stderr
  const live = options.live ?? stream.isTTY === true
  const states = new Map<string, string>()
  let started = 0
  let drawn = false

  const count = (status: string) => [...states.values()].filter((s) => s === status).length
  const elapsed = (at: number) => `${((at - started) / 1000).toFixed(1)} s`
  const draw = (at: number) => {
    const running = [...states].filter(([, s]) => s === 'running').map(([name]) => name)
    const line =
      `${count('succeeded')} done, ${running.length} running, ${count('pending')} queued, ${count('failed')} failed` +
      ` | ${elapsed(at)}${running.length > 0 ? ` | ${running.join(', ')}` : ''}`
    const width = Math.max(20, (stream.columns || 100) - 1)
    stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
    drawn = true
  }

  return (event) => {
    if (event.type === 'run') {
      if (event.status === 'running') {
        started = event.at
        for (const step of event.steps ?? []) states.set(step, 'pending')
        return
      }
      if (live && drawn) stream.write('\r\x1b[2K')
      stream.write(`run ${event.status} in ${elapsed(event.at)}: ${count('succeeded')} steps succeeded, ${count('failed')} failed, ${count('skipped')} skipped\n`)
      return
    }
    if (!states.has(event.step) && event.status === 'pending') states.set(event.step, 'pending')
    states.set(event.step, event.status)
    if (live) return draw(event.at)
    if (event.status === 'succeeded' || event.status === 'failed' || event.status === 'skipped') {
      const why = event.status === 'failed' && event.error instanceof Error ? `: ${event.error.message}` : ''
      stream.write(`[${elapsed(event.at)}] ${event.step} ${event.status}${why}\n`)
    }
  }
}
