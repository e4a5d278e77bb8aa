// The process backend's own faults: a killed agent, a dead parent, output, closing.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { gather } from 'spindle'
import { remote } from 'spindle'
import type * as FaultTasks from '../fixtures/fault-tasks.mjs'
import { tasks as t, usePools } from '../helpers/pools.js'

const f = remote<typeof FaultTasks>(new URL('../fixtures/fault-tasks.mjs', import.meta.url))

const child = new URL('../fixtures/lifecycle-child.mjs', import.meta.url).pathname
const loss = new URL('../fixtures/agent-loss-child.mjs', import.meta.url).pathname
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
async function until(check: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !check(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - started > 20_000) throw new Error(`timed out waiting for: ${what}`)
  }
}

describe('process backend', () => {
  const start = usePools()

  it('a killed agent: every call still completes, with the same results', async () => {
    const pool = await start({ backend: 'process', workers: 2 })
    const [first] = await pool.broadcast(t.pid())
    const calls = Array.from({ length: 40 }, (_, i) => t.delayedEcho(i, 20))
    const running = pool.run(gather(...calls))
    process.kill(first!, 'SIGKILL')
    expect(await running).toEqual(Array.from({ length: 40 }, (_, i) => i))
    const after = await pool.broadcast(t.pid())
    expect(after[0]).not.toBe(first) // a new agent took node 0
  })

  // The only call in flight loses its agent: nothing but that call keeps the program alive while
  // the replacement starts (under top-level await an unsettled call exits 13, otherwise 0 silently).
  it.each(['SIGKILL', 'SIGSEGV'])('workers: 1, the agent dies by %s under the only call: the program prints its result and exits 0', async (signal) => {
    const marker = join(mkdtempSync(join(tmpdir(), 'spindle-loss-')), 'killed')
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [loss, 'process', marker, signal], { timeout: 30_000 })
      expect(stdout).toBe('survived\n')
    } finally {
      rmSync(dirname(marker), { recursive: true, force: true })
    }
  })

  it('an agent that dies right after answering: its answered batches are not run again', async () => {
    const killAfterAnswer = new URL('../fixtures/kill-after-answer.mjs', import.meta.url).href
    const pool = await start({ backend: 'process', workers: 1, execArgv: ['--import', killAfterAnswer] })
    const dir = mkdtempSync(join(tmpdir(), 'spindle-answered-'))
    try {
      // One call at a time, each answered by an agent that dies as its answer (1 MB: several
      // reads) leaves: its 'exit' and that answer arrive together, and the answer must win.
      for (let i = 0; i < 10; i++) expect(await pool.run(f.countRunBig(join(dir, String(i)), 1_000_000))).toHaveLength(1_000_000)
      const runs = Array.from({ length: 10 }, (_, i) => statSync(join(dir, String(i))).size)
      expect(runs).toEqual(Array.from({ length: 10 }, () => 1))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('close() stops every agent', async () => {
    const pool = await start({ backend: 'process', workers: 2 })
    const pids = await pool.broadcast(t.pid())
    await pool.close()
    for (const pid of pids) expect(alive(pid), `agent ${pid}`).toBe(false)
  })

  it('close() sends SIGKILL to an agent that ignores SIGTERM, after the grace period', async () => {
    const ignoreSigterm = new URL('../fixtures/ignore-sigterm.mjs', import.meta.url).href
    const pool = await start({ backend: 'process', workers: 1, execArgv: ['--import', ignoreSigterm] })
    const [pid] = await pool.broadcast(t.pid())
    process.kill(pid!, 'SIGTERM')
    expect(await pool.run(t.pid()), 'the same agent answers after SIGTERM').toBe(pid)
    const began = Date.now()
    await pool.close()
    expect(alive(pid!), `agent ${pid}`).toBe(false)
    // SIGTERM alone would have been ignored: it took the SIGKILL at the end of the 2 s grace.
    expect(Date.now() - began).toBeGreaterThanOrEqual(1_900)
  })

  it('agents exit when their parent dies, even by SIGKILL', async () => {
    const parent = spawn(process.execPath, [child, 'process-orphans'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const pids = await new Promise<number[]>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()))))
    parent.kill('SIGKILL')
    await until(() => pids.every((pid) => !alive(pid)), `agents ${pids.join(', ')} to exit`)
  })

  it("forwards a task's output with the node's prefix", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [child, 'process-output'], { timeout: 30_000 })
    expect(stdout).toContain('[process 0] hello from a task\n')
  })
})
