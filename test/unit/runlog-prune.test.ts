// Retention of the run log: the newest `keep` runs and those younger than `olderThan` stay, a run
// still marked running always stays, and the rest are removed whole.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RunLog } from '../../src/runlog/run-log.js'
import { parseAge, pruneRuns } from '../../src/runlog/prune.js'
import { cli } from '../cli/helpers.js'

const DAY = 86_400_000
const NOW = 100 * DAY

describe('pruneRuns', () => {
  let dir = ''
  let log: RunLog
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-prune-'))
    log = RunLog.open(join(dir, 'runs'))
    // r0 is the oldest; r5 started 1 day before NOW. r2 never finished (its process died, or it runs).
    for (let i = 0; i < 6; i++) {
      const w = log.begin({ id: `r${i}`, pipeline: 'p', startedAt: NOW - (6 - i) * DAY, steps: ['a'] })
      if (i !== 2) w.finish('succeeded', NOW - (6 - i) * DAY + 1000)
    }
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const ids = () => log.list().map((r) => r.id)

  it('keeps the newest `keep` runs', () => {
    const { removed, kept } = pruneRuns(log, { keep: 2, now: NOW })
    expect(removed.map((r) => r.id)).toEqual(['r3', 'r1', 'r0'])
    expect(kept).toBe(3)
    expect(ids()).toEqual(['r5', 'r4', 'r2'])
    expect(readdirSync(log.dir).sort()).toEqual(['r2', 'r4', 'r5']) // nothing half-removed left
  })

  it('removes runs older than an age; with keep too, a run must be both to go', () => {
    expect(pruneRuns(log, { olderThan: 3.5 * DAY, now: NOW }).removed.map((r) => r.id)).toEqual(['r1', 'r0'])
    expect(pruneRuns(log, { olderThan: 0, keep: 3, now: NOW }).removed.map((r) => r.id)).toEqual([])
    expect(pruneRuns(log, { olderThan: 0, keep: 2, now: NOW }).removed.map((r) => r.id)).toEqual(['r3'])
    expect(ids()).toEqual(['r5', 'r4', 'r2'])
  })

  it('needs keep or olderThan', () => {
    expect(() => pruneRuns(log, {})).toThrow(expect.objectContaining({ code: 'ERR_SPINDLE_INVALID_OPTION' }))
  })

  it('reads ages as 30s, 15m, 12h, 7d, 2w', () => {
    expect([parseAge('30s'), parseAge('15m'), parseAge('12h'), parseAge('7d'), parseAge('2w'), parseAge('1.5d')]).toEqual([30_000, 900_000, 43_200_000, 7 * DAY, 14 * DAY, 1.5 * DAY])
    expect([parseAge('7'), parseAge('d'), parseAge('-1d'), parseAge('7 days')]).toEqual([undefined, undefined, undefined, undefined])
  })

  it('spindle runs prune: --keep, --older-than, bad values as usage errors', async () => {
    const runLog = ['--run-log', log.dir]
    expect(await cli(['runs', 'prune', ...runLog], dir)).toMatchObject({ code: 2, stderr: expect.stringContaining('runs prune needs `--keep <n>`, `--older-than <age>`, or both.') })
    expect(await cli(['runs', 'prune', '--older-than', 'a week', ...runLog], dir)).toMatchObject({ code: 2, stderr: expect.stringContaining('Expected `--older-than` to be an age') })
    expect(await cli(['runs', '--keep', '1', ...runLog], dir)).toMatchObject({ code: 2, stderr: expect.stringContaining('are for `runs prune`') })
    const pruned = await cli(['runs', 'prune', '--keep', '3', ...runLog], dir)
    expect(pruned).toMatchObject({ code: 0, stdout: `Removed 2 runs from ${log.dir}; 4 kept.\n` })
    const json = await cli(['runs', 'prune', '--keep', '1', '--json', ...runLog], dir)
    expect(JSON.parse(json.stdout)).toEqual({ removed: ['r4', 'r3'], kept: 2 })
    expect(existsSync(join(log.dir, 'r2'))).toBe(true) // still marked running
  })
})
