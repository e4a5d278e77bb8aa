// The run summary after `spindle run` and `runs show` name the pool's start-up on a line of its
// own ("pool start"), apart from the steps, when nodes started during the run.
import { describe, expect, it } from 'vitest'
import type { RunRecord } from 'spindle'
import { formatRunShow, formatRunSummary } from '../../dist/cli/runs-format.js'
import type { StoredRun } from '../../dist/runlog/run-log.js'

const T0 = 1_700_000_000_000
const poolStart = [
  { node: 0, from: T0 + 5, to: T0 + 605 },
  { node: 1, from: T0 + 5, to: T0 + 655 },
]

describe('the pool start line', () => {
  it('is in the summary of a run whose pool started during it: until its last node was up', () => {
    const record = { id: 'r1', pipeline: 'cold', status: 'succeeded', startedAt: T0, endedAt: T0 + 1000, poolStart, steps: [], output: () => undefined as never } as RunRecord
    expect(formatRunSummary(record)).toBe('Run r1 of "cold" succeeded in 1.0 s\n  pool start  0.7 s (2 nodes)\n  (no steps)\n')
    expect(formatRunSummary({ ...record, poolStart: [] })).toBe('Run r1 of "cold" succeeded in 1.0 s\n  (no steps)\n')
  })

  it('is in `runs show`, read from the run log', () => {
    const stored = { id: 'r1', pipeline: 'cold', status: 'succeeded', startedAt: T0, endedAt: T0 + 1000, poolStart: poolStart.slice(0, 1), stepNames: [], steps: [] } as unknown as StoredRun
    expect(formatRunShow(stored, undefined)).toContain('  duration  1.0 s\n  pool start  0.6 s (1 node)\n')
  })
})
