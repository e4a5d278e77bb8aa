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
  it('on a terminal: one redrawn line with counts, elapsed, an ETA from the steps finished, running names', () => {
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream })
    for (const event of events) onEvent(event)
    expect(writes).toEqual([
      '\r\x1b[2K0 done, 1 running, 3 queued, 0 failed | 0.0 s | a',
      '\r\x1b[2K0 done, 2 running, 2 queued, 0 failed | 0.0 s | a, b',
      // `a` took 2 s: b (2 s in) has ~0 left, c and d 2 s each, two at a time: ~2 s.
      '\r\x1b[2K1 done, 1 running, 2 queued, 0 failed | 2.0 s, ETA ~2.0 s | b',
      '\r\x1b[2K1 done, 2 running, 1 queued, 0 failed | 2.0 s, ETA ~2.0 s | b, c',
      // A failure's time says nothing of the others': c (1 s in) has 1 s left, d 2 s: ~1.5 s.
      '\r\x1b[2K1 done, 1 running, 1 queued, 1 failed | 3.0 s, ETA ~1.5 s | c',
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

  it('counts a step whose call waits for its node to start as starting, not running', () => {
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream })
    onEvent({ type: 'run', status: 'running', run: 'r3', at: 0, steps: ['cold', 'next'] })
    onEvent(step('cold', 'running', 0))
    onEvent({ type: 'phase', step: 'cold', attempt: 1, phase: 'starting', node: 0, at: 10 })
    expect(writes.at(-1)).toBe('\r\x1b[2K0 done, 0 running, 1 starting, 1 queued, 0 failed | 0.0 s')
    onEvent({ type: 'pool', node: 0, from: 0, at: 600 })
    onEvent({ type: 'phase', step: 'cold', attempt: 1, phase: 'running', node: 0, at: 600 })
    expect(writes.at(-1)).toBe('\r\x1b[2K0 done, 1 running, 1 queued, 0 failed | 0.6 s | cold')
    onEvent(step('cold', 'succeeded', 700))
    onEvent({ type: 'run', status: 'succeeded', run: 'r3', at: 800 })
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

  it('counts only leaf steps as running: a parallel step is not, its branches\' steps are', () => {
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream })
    const at = (name: string, status: string, t: number, kind: string) => ({ ...step(name, status, t), kind }) as PipelineEvent
    onEvent({ type: 'run', status: 'running', run: 'r3', at: 0, steps: ['variants', 'notify'] })
    onEvent(at('variants', 'running', 0, 'parallel'))
    onEvent(at('variants/a/fit', 'pending', 0, 'call'))
    onEvent(at('variants/b/fit', 'pending', 0, 'call'))
    onEvent(at('variants/a/fit', 'running', 0, 'call'))
    onEvent(at('variants/b/fit', 'running', 0, 'call'))
    // Two steps run (with --workers 2), not three: the parallel step runs nothing itself.
    expect(writes.at(-1)).toBe('\r\x1b[2K0 done, 2 running, 1 queued, 0 failed | 0.0 s | variants/a/fit, variants/b/fit')
    onEvent(at('variants/a/fit', 'succeeded', 1000, 'call'))
    onEvent(at('variants/b/fit', 'succeeded', 1000, 'call'))
    onEvent(at('variants', 'succeeded', 1000, 'parallel'))
    expect(writes.at(-1)).toBe('\r\x1b[2K3 done, 0 running, 1 queued, 0 failed | 1.0 s, ETA ~0.5 s')
    onEvent({ type: 'run', status: 'succeeded', run: 'r3', at: 1500 })
  })

  it('bases the ETA on an earlier run\'s durations when given: right from the start, pool start-up aside', () => {
    // The earlier run: load 400 ms, then featA and featB (300 ms each) at once, then train 100 ms: 0.8 s of wall time for 1.1 s of steps.
    const history = { durations: new Map([['load', 400], ['featA', 300], ['featB', 300], ['train', 100]]), wallMs: 800 }
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream, history })
    onEvent({ type: 'run', status: 'running', run: 'r4', at: 0, steps: ['load', 'featA', 'featB', 'train'] })
    // This run's first step starts late (the pool starting): 1.1 s of work at 1.375 at once is 0.8 s.
    onEvent(step('load', 'running', 1000))
    expect(writes.at(-1)).toBe('\r\x1b[2K0 done, 1 running, 3 queued, 0 failed | 1.0 s, ETA ~0.8 s | load')
    onEvent(step('load', 'succeeded', 1400))
    onEvent(step('featA', 'running', 1400))
    onEvent(step('featB', 'running', 1400))
    // 0.7 s of work left: ~0.5 s.
    expect(writes.at(-1)).toBe('\r\x1b[2K1 done, 2 running, 1 queued, 0 failed | 1.4 s, ETA ~0.5 s | featA, featB')
    onEvent({ type: 'run', status: 'succeeded', run: 'r4', at: 2000 })
  })

  it('without history, is not thrown off by a slow start: the issue\'s 12 steps, two at a time, the first done at 1.4 s', () => {
    const { stream, writes } = sink(true)
    const onEvent = pipelineProgress({ stream })
    const names = Array.from({ length: 12 }, (_, i) => `s${i}`)
    onEvent({ type: 'run', status: 'running', run: 'r5', at: 0, steps: names })
    onEvent(step('s0', 'running', 1000))
    onEvent(step('s1', 'running', 1000))
    onEvent(step('s0', 'succeeded', 1400))
    // The finishing rate said 11 × 1.4 s = 15.4 s; the steps take 0.4 s, two at a time: (0 + 10 × 0.4) / 2.
    expect(writes.at(-1)).toBe('\r\x1b[2K1 done, 1 running, 10 queued, 0 failed | 1.4 s, ETA ~2.0 s | s1')
    onEvent({ type: 'run', status: 'succeeded', run: 'r5', at: 2000 })
  })

  it('says which steps were reused from the cache or a resumed run', () => {
    const { stream, writes } = sink(false)
    const onEvent = pipelineProgress({ stream })
    onEvent({ type: 'run', status: 'running', run: 'r6', at: 0, steps: ['a', 'b', 'c'] })
    onEvent({ ...step('a', 'succeeded', 100), reused: 'cache' } as PipelineEvent)
    onEvent({ ...step('b', 'succeeded', 100), reused: 'resume' } as PipelineEvent)
    onEvent(step('c', 'running', 100))
    onEvent(step('c', 'succeeded', 300))
    onEvent({ type: 'output', step: 'c', stream: 'stdout', line: 'not for the display', at: 200 })
    onEvent({ type: 'run', status: 'succeeded', run: 'r6', at: 300 })
    expect(writes.join('')).toBe(
      '[0.1 s] a succeeded (reused from cache)\n[0.1 s] b succeeded (reused from resume)\n[0.3 s] c succeeded\n' +
        'run succeeded in 0.3 s: 3 steps succeeded (1 reused from cache, 1 from resume), 0 failed, 0 skipped\n',
    )
  })
})
