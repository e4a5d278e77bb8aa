// pipelineProgress fed by hand-made events (times included), so every line is exact.
import { describe, expect, it, vi } from 'vitest'
import { pipelineProgress, type PipelineEvent } from 'spindle'

function sink(isTTY: boolean) {
  const writes: string[] = []
  return { stream: { isTTY, columns: 200, write: (text: string) => (writes.push(text), true) } as unknown as NodeJS.WritableStream, writes }
}

const step = (name: string, status: string, at: number, error?: unknown): PipelineEvent =>
  ({ type: 'step', step: name, status, attempt: 1, at, ...(error !== undefined && { error }) }) as PipelineEvent

const events: PipelineEvent[] = [
  { type: 'run', status: 'running', run: 'r1', at: 1000, steps: ['a', 'b', 'c', 'd'] },
  step('a', 'running', 1000),
  step('b', 'running', 1000),
  step('a', 'succeeded', 3000),
  step('c', 'running', 3000),
  step('b', 'failed', 4000, new Error('boom')),
  { type: 'run', status: 'failed', run: 'r1', at: 5000 },
]

describe('pipelineProgress', () => {
  it('on a terminal: one redrawn line with counts, elapsed, an ETA from the finishing rate, running names', () => {
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream })
    for (const event of events) onEvent(event)
    expect(writes).toEqual([
      '\r\x1b[2K0 done, 1 running, 3 queued, 0 failed | 0.0 s | a',
      '\r\x1b[2K0 done, 2 running, 2 queued, 0 failed | 0.0 s | a, b',
      // 1 of 4 finished in 2 s: 3 left at that rate is ~6 s.
      '\r\x1b[2K1 done, 1 running, 2 queued, 0 failed | 2.0 s, ETA ~6.0 s | b',
      '\r\x1b[2K1 done, 2 running, 1 queued, 0 failed | 2.0 s, ETA ~6.0 s | b, c',
      // 2 finished in 3 s, 2 left: ~3 s.
      '\r\x1b[2K1 done, 1 running, 1 queued, 1 failed | 3.0 s, ETA ~3.0 s | c',
      '\r\x1b[2K',
      'run failed in 4.0 s: 1 steps succeeded, 1 failed, 0 skipped\n',
    ])
  })

  it('elsewhere: one plain line per finished step, with the error of a failed one', () => {
    const { stream, writes } = sink(false)
    const onEvent = pipelineProgress({ stream })
    for (const event of events) onEvent(event)
    expect(writes.join('')).toBe('[2.0 s] a succeeded\n[3.0 s] b failed: boom\nrun failed in 4.0 s: 1 steps succeeded, 1 failed, 0 skipped\n')
  })

  it('json: every event as one JSON line, errors with name, message and code', () => {
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream, json: true })
    for (const event of events) onEvent(event)
    expect(writes).toHaveLength(events.length)
    expect(writes.every((w) => w.endsWith('\n') && !w.slice(0, -1).includes('\n'))).toBe(true)
    expect(JSON.parse(writes[5]!)).toEqual({ type: 'step', step: 'b', status: 'failed', attempt: 1, at: 4000, error: { name: 'Error', message: 'boom' } })
    const coded = Object.assign(new TypeError('bad'), { code: 'E_X' })
    onEvent(step('c', 'failed', 6000, coded))
    expect(JSON.parse(writes.at(-1)!).error).toEqual({ name: 'TypeError', message: 'bad', code: 'E_X' })
    expect(JSON.parse(writes[0]!)).toEqual(events[0])
  })

  it('shows a running map step\'s items done beside its name', () => {
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream })
    onEvent({ type: 'run', status: 'running', run: 'r2', at: 0, steps: ['each'] })
    onEvent(step('each', 'running', 0))
    onEvent({ type: 'items', step: 'each', done: 0, total: 3, at: 0 })
    onEvent({ type: 'items', step: 'each', done: 2, total: 3, at: 1000 })
    expect(writes.at(-1)).toBe('\r\x1b[2K0 done, 1 running, 0 queued, 0 failed | 1.0 s | each 2/3')
    onEvent(step('each', 'succeeded', 1500))
    onEvent({ type: 'run', status: 'succeeded', run: 'r2', at: 1500 })
    expect(writes.at(-1)).toBe('run succeeded in 1.5 s: 1 steps succeeded, 0 failed, 0 skipped\n')
  })

  it('truncates the live line to the terminal width', () => {
    const writes: string[] = []
    const stream = { isTTY: true, columns: 30, write: (text: string) => (writes.push(text), true) } as unknown as NodeJS.WritableStream
    const onEvent = pipelineProgress({ stream })
    onEvent(events[0]!)
    onEvent(step('a-step-with-a-long-name', 'running', 1000))
    expect(writes[0]).toBe('\r\x1b[2K0 done, 1 running, 4 queued,…') // 29 columns: one left for the cursor
    onEvent({ type: 'run', status: 'succeeded', run: 'r1', at: 2000 }) // stops its redraw timer
  })

  it('redraws the live line as time passes, and stops when the run ends', () => {
    vi.useFakeTimers({ now: 1000 })
    try {
      const { stream, writes } = sink(true)
      const onEvent = pipelineProgress({ stream })
      onEvent(events[0]!)
      onEvent(step('a', 'running', 1000))
      vi.advanceTimersByTime(1500)
      expect(writes.slice(-3)).toEqual([
        '\r\x1b[2K0 done, 1 running, 3 queued, 0 failed | 0.5 s | a',
        '\r\x1b[2K0 done, 1 running, 3 queued, 0 failed | 1.0 s | a',
        '\r\x1b[2K0 done, 1 running, 3 queued, 0 failed | 1.5 s | a',
      ])
      onEvent({ type: 'run', status: 'cancelled', run: 'r1', at: 2500 })
      const count = writes.length
      vi.advanceTimersByTime(5000)
      expect(writes).toHaveLength(count)
    } finally {
      vi.useRealTimers()
    }
  })
})
