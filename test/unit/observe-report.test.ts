// The report's pieces without a browser: the call log the dispatcher feeds, the graph's layout
// (columns by dependency depth, branches inside their parallel step's frame), escaping, ticks.
import { describe, expect, it } from 'vitest'
import { renderReport, type PipelineShape, type Recording, type RunRecord, type StepRecord } from '../../src/index.js'
import { Call } from '../../src/dispatch/call.js'
import { CallLog } from '../../src/observe/recording.js'
import { depths, graphSvg } from '../../src/observe/report-graph.js'
import { ticks } from '../../src/observe/report-gantt.js'

const task = { module: 'file:///app/tasks.js', name: 'fit' }
const chunkTask = { module: 'file:///spindle/dist/map/worker/map-chunk.js', name: 'mapChunk' }
const call = (seq: number, options: object = {}, args: unknown[] = [], ref = task) => new Call(seq, ref, 1, args, options, () => {}, () => {})

describe('CallLog', () => {
  it('forgets the run of a call taken back from a node before it started there (work stealing): it never ran there', () => {
    const log = new CallLog()
    const a = call(1)
    log.queued(a)
    log.sent([a], 0)
    log.queued(a, true) // taken back from node 0
    log.sent([a], 1)
    log.ran([a], 2)
    log.settled(a, false, undefined)
    expect(log.calls[0]!.runs.map((r) => [r.node, r.interrupted])).toEqual([[1, false]])
  })

  it('follows a call through a lost node to its end, and a chunk to its failure', () => {
    const log = new CallLog()
    const a = call(1, { label: 'train' })
    const chunk = call(2, { parent: 1 }, [{}, { kind: 'array', items: [10, 20, 30] }, 6, undefined, false], chunkTask)
    const before = call(0) // submitted before the log watched: ignored throughout
    log.queued(a)
    log.queued(chunk)
    log.sent([a, chunk, before], 0)
    log.queued(a) // its node was lost: queued again
    log.sent([a], 1)
    log.ran([a], 5)
    log.settled(a, false, undefined)
    log.settled(chunk, true, new TypeError('bad item'))
    log.ran([before], 1)
    log.settled(before, false, undefined)

    expect(log.calls.map((c) => [c.seq, c.parent, c.label, c.task, c.chunk, c.status, c.error])).toEqual([
      [1, undefined, 'train', 'fit (tasks.js)', undefined, 'succeeded', undefined],
      [2, 1, undefined, 'mapChunk (map-chunk.js)', [6, 9], 'failed', 'TypeError: bad item'],
    ])
    const [first, second] = log.calls as [(typeof log.calls)[0], (typeof log.calls)[0]]
    expect(first.runs.map((r) => [r.node, r.batch, r.index, r.interrupted, r.ms])).toEqual([
      [0, 3, 0, true, undefined],
      [1, 1, 0, false, 5],
    ])
    expect(first.runs[0]!.endedAt, 'the lost run ends when the call was queued again').toBeLessThanOrEqual(first.runs[1]!.sentAt)
    expect(first.runs[1]!.sentAt).toBeGreaterThanOrEqual(first.runs[0]!.sentAt)
    expect(first.settledAt).toBeGreaterThanOrEqual(first.runs[1]!.endedAt!)
    // Rejected without an answer from its node: the run ends when it settled.
    expect(second.runs.map((r) => [r.node, r.batch, r.index, r.endedAt === second.settledAt])).toEqual([[0, 3, 1, true]])
  })
})

const shape: PipelineShape = {
  name: 'tree',
  steps: [
    { name: 'a', kind: 'call', deps: [] },
    { name: 'b', kind: 'call', deps: ['a'] },
    {
      name: 'p',
      kind: 'parallel',
      deps: ['a'],
      branches: {
        x: { name: 'x', steps: [{ name: 's1', kind: 'call', deps: [] }, { name: 's2', kind: 'call', deps: ['s1'] }] },
        y: { name: 'y', steps: [{ name: 't1', kind: 'shell', deps: [] }] },
      },
    },
    { name: 'c', kind: 'stub', deps: ['b', 'p'] },
  ],
}

/** The rectangle of each step's box (or frame) in the SVG, by its full name. */
function boxes(svg: string): Map<string, { x: number; y: number; w: number; h: number }> {
  const found = new Map<string, { x: number; y: number; w: number; h: number }>()
  for (const m of svg.matchAll(/data-step="([^"]+)"><title>[^<]*<\/title><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)) {
    found.set(m[1]!, { x: Number(m[2]), y: Number(m[3]), w: Number(m[4]), h: Number(m[5]) })
  }
  return found
}

describe('graphSvg', () => {
  const svg = graphSvg(shape, new Map([['b', { status: 'failed', attempts: 3 }]]))
  const at = boxes(svg)

  it('draws every step, nested ones by their full name', () => {
    expect([...at.keys()].sort()).toEqual(['a', 'b', 'c', 'p', 'p/x/s1', 'p/x/s2', 'p/y/t1'])
    expect(svg).toContain('call · failed · ×3')
  })

  it('lays steps out left to right by dependency depth', () => {
    expect(depths(shape)).toEqual(new Map([['a', 0], ['b', 1], ['p', 1], ['c', 2]]))
    for (const [from, to] of [['a', 'b'], ['a', 'p'], ['b', 'c'], ['p', 'c'], ['p/x/s1', 'p/x/s2']] as const) {
      expect(at.get(to)!.x, `${to} right of ${from}`).toBeGreaterThan(at.get(from)!.x + at.get(from)!.w)
    }
    expect(at.get('b')!.x).toBe(at.get('p')!.x) // one column
  })

  it('puts a parallel step\'s branches inside its frame, one group each, apart', () => {
    const frame = at.get('p')!
    for (const name of ['p/x/s1', 'p/x/s2', 'p/y/t1']) {
      const box = at.get(name)!
      expect(box.x >= frame.x && box.x + box.w <= frame.x + frame.w && box.y >= frame.y && box.y + box.h <= frame.y + frame.h, `${name} inside p`).toBe(true)
    }
    expect(at.get('p/y/t1')!.y).toBeGreaterThanOrEqual(at.get('p/x/s1')!.y + at.get('p/x/s1')!.h)
    expect(svg).toContain('class="branch-name">x<')
    expect(svg).toContain('class="branch-name">y<')
  })
})

describe('renderReport', () => {
  const evil = '<img src=x onerror=alert(1)>'
  const step = (name: string, more: Partial<StepRecord> = {}): StepRecord => ({
    name, kind: 'call', status: 'skipped', attempts: 0, node: undefined, startedAt: undefined, attemptStartedAt: undefined, dispatchedAt: undefined, nodeUpAt: undefined, endedAt: undefined, times: undefined, error: undefined, blockedBy: undefined, reused: undefined, cacheKey: undefined, ...more,
  })
  const record: RunRecord = {
    id: 'run-1', pipeline: 'esc', status: 'failed', startedAt: 1000, endedAt: 1050, poolStart: [],
    steps: [step(evil, { status: 'failed', attempts: 1, startedAt: 1000, endedAt: 1040, error: new Error(`</script>${evil}`) }), step('after', { blockedBy: evil })],
    output: () => undefined as never,
  }
  const recording: Recording = {
    pipeline: { name: 'esc', steps: [{ name: evil, kind: 'call', deps: [] }, { name: 'after', kind: 'call', deps: [evil] }] },
    events: [
      { type: 'run', status: 'running', run: 'run-1', at: 1000 },
      { type: 'step', step: evil, status: 'running', attempt: 1, at: 1000 },
      { type: 'step', step: evil, status: 'failed', attempt: 1, at: 1040, error: record.steps[0]!.error },
      { type: 'step', step: 'after', status: 'skipped', attempt: 0, at: 1040 },
      { type: 'run', status: 'failed', run: 'run-1', at: 1050 },
    ],
    calls: [],
  }
  const html = renderReport(record, recording)

  it('escapes names and errors everywhere: no markup of theirs survives', () => {
    expect(html).not.toContain('<img')
    expect(html.match(/<\/script>/g)).toHaveLength(2) // only the two script elements' own ends
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;')
    const data = JSON.parse(html.match(/id="spindle-data">(.*?)<\/script>/s)![1]!)
    expect(data.rows.map((r: { name: string; error: string | null }) => [r.name, r.error])).toEqual([
      [evil, `Error: </script>${evil}`],
      ['after', `blocked by ${evil}`],
    ])
  })

  it('renders a run whose steps never reached a node: no lanes, the errors still listed', () => {
    expect(html).toContain('<svg class="gantt"')
    expect(html).not.toContain('class="bar"')
    expect(html).toContain('failed after 1 attempt(s)')
  })
})

describe('ticks', () => {
  it('steps by 1, 2 or 5 × a power of ten, from 0 past the end', () => {
    expect(ticks(1000)).toEqual([0, 200, 400, 600, 800, 1000])
    expect(ticks(61)).toEqual([0, 10, 20, 30, 40, 50, 60])
    expect(ticks(3)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3])
  })
})
