// A large step output costs its size on disk once: the run's record, the step cache and a resumed
// run share one copy (hard links), and each name can still be removed on its own.
import { lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ParallelExecutor, Pipeline, remote } from 'spindle'
import { RunLog } from '../../src/runlog/run-log.js'
import { pruneRuns } from '../../src/runlog/prune.js'

let dir: string
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'spindle-disk-'))))
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const ITEMS = 2_000_000 // a Float64Array of 16 MB
const SIZE = ITEMS * 8

/** Bytes allocated on disk under `root`, each file counted once however many names it has (as `du` does). */
function diskBytes(root: string): number {
  const seen = new Set<string>()
  let bytes = 0
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const stat = lstatSync(join(entry.parentPath, entry.name))
    if (seen.has(`${stat.dev}:${stat.ino}`)) continue
    seen.add(`${stat.dev}:${stat.ino}`)
    bytes += stat.blocks * 512
  }
  return bytes
}

describe('large step outputs on disk', () => {
  it('are stored once across the run, the step cache and a resumed run', async () => {
    const tasks = join(dir, 'big-tasks.mjs')
    writeFileSync(tasks, 'export function big(n) { return new Float64Array(n).fill(1.5) }\nexport function fail() { throw new Error("stop") }\n')
    const t = remote<{ big(n: number): Float64Array; fail(): never }>(pathToFileURL(tasks))
    const spindle = join(dir, '.spindle')
    const options = { executor: new ParallelExecutor({ backend: 'inline' }), runLog: join(spindle, 'runs'), cacheDir: join(spindle, 'cache') }
    const build = (failing: boolean) => {
      const p = new Pipeline('big')
      const out = p.step('big', t.big(ITEMS), { cache: true })
      if (failing) p.step('after', t.fail(), { after: [out] })
      return p
    }
    const usage = () => `${diskBytes(spindle)} bytes on disk for a ${SIZE}-byte output`

    const first = await build(true).run(options) // a miss: stored in the cache and recorded in the run
    expect(first.steps.map((s) => [s.name, s.status])).toEqual([['big', 'succeeded'], ['after', 'failed']])
    expect(diskBytes(spindle), usage()).toBeLessThan(SIZE * 1.25)
    const second = await build(true).run(options) // a hit, recorded in a second run
    expect(second.steps[0]!.reused).toBe('cache')
    expect(diskBytes(spindle), usage()).toBeLessThan(SIZE * 1.25)
    const resumed = await build(false).run({ ...options, resume: second.id }) // recorded in a third, from the second
    expect(resumed.steps[0]!.reused).toBe('resume')
    expect(diskBytes(spindle), usage()).toBeLessThan(SIZE * 1.25)

    // Each name stands alone: with the cache and the other runs gone, the last run still reads its output, checked.
    rmSync(join(spindle, 'cache'), { recursive: true })
    expect(pruneRuns(RunLog.open(join(spindle, 'runs')), { keep: 1 }).removed.map((r) => r.id).sort()).toEqual([first.id, second.id].sort())
    const kept = RunLog.open(join(spindle, 'runs')).read(resumed.id).output('big') as Float64Array
    expect(kept.length).toBe(ITEMS)
    expect(kept.every((x) => x === 1.5)).toBe(true)
    expect(diskBytes(spindle), usage()).toBeLessThan(SIZE * 1.25)
  })
})
