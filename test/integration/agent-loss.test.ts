// Agents killed under work, again and again, on processes and on an SSH host: a batch runs
// again free unless its agent had said it began it, so calls that never ran never use up
// interruption retries; and a long map chunk sends its finished items' results ahead, so a
// killed agent's chunk runs again only from where they end, not from its first item.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { InterruptedError, parallelMap, remote, type ComputeOptions } from 'spindle'
import type * as FaultTasks from '../fixtures/fault-tasks.mjs'
import { usePools } from '../helpers/pools.js'
import { until } from '../helpers/processes.js'
import { runSshTests, startSshLab, type SshLab } from '../helpers/sshd.js'

const f = remote<typeof FaultTasks>(new URL('../fixtures/fault-tasks.mjs', import.meta.url))

/** Preloaded in every agent: while `marker` exists, the first agent to see it removes it and dies before it is ready. */
const killNextAgent = (marker: string) =>
  `data:text/javascript,${encodeURIComponent(`import fs from 'node:fs'; try { fs.rmSync(${JSON.stringify(marker)}); process.kill(process.pid, 'SIGKILL') } catch {}`)}`

const backends = ['process', ...(runSshTests ? ['ssh' as const] : [])] as const

describe.each(backends)('%s agents killed under work', (backend) => {
  let lab: SshLab | undefined
  beforeAll(async () => {
    if (backend === 'ssh') lab = await startSshLab(1)
  })
  afterAll(async () => {
    await lab?.stop()
  })
  const start = usePools()
  /** One node: a process agent, or one SSH host that the pool reconnects to each time its agent is killed. */
  const open = (options: ComputeOptions) =>
    start(backend === 'process' ? { backend, workers: 1, ...options } : { backend, hosts: lab!.hosts(1), ssh: { reconnect: { attempts: 20, delay: 20 } }, ...options })
  let dir = ''
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const runs = (name: string | number) => {
    try {
      return statSync(join(dir, String(name))).size
    } catch {
      return 0
    }
  }
  /** Agents that have begun a call (the tasks mark them) and are not killed yet. */
  const working = (killed: Set<number>) =>
    readdirSync(dir).flatMap((name) => (name.startsWith('pid-') ? [Number(name.slice(4))] : [])).filter((pid) => !killed.has(pid))
  const kill = (pid: number, killed: Set<number>) => {
    killed.add(pid)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // it is gone already
    }
  }

  it('killed again and again (on processes, some before they are ready): no call fails as interrupted without having run', async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-kills-'))
    const marker = join(dir, 'kill-next-agent')
    // No retry at all: a call interrupted once fails, so one that fails must have run.
    const pool = await open({ workersPerNode: 2, interruptionRetries: 0, ...(backend === 'process' && { execArgv: ['--import', killNextAgent(marker)] }) })
    const calls = Array.from({ length: 40 }, (_, i) => pool.run(f.countRunHold(dir, i)))
    const settled = Promise.allSettled(calls)
    // Each agent is killed once both its threads hold a call: the batch behind each is still
    // waiting there, not begun. Every other time, a process agent's replacement dies too, before
    // it is ready.
    const killed = new Set<number>()
    for (let round = 0; round < 6; round++) {
      let pid: number | undefined
      await until(() => (pid = working(killed).find((p) => runs(`pid-${p}`) >= 2)) !== undefined, `an agent holding two calls (round ${round})`)
      if (round % 2 === 1 && backend === 'process') writeFileSync(marker, '')
      kill(pid!, killed)
    }
    writeFileSync(join(dir, 'release'), '')
    const outcomes = await settled
    const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ i, runs: runs(i), reason: o.reason as unknown }] : []))
    for (const { i, reason } of failures) expect(reason, `call ${i}`).toBeInstanceOf(InterruptedError)
    expect(failures.filter((x) => x.runs === 0), 'calls failed as interrupted that never ran').toEqual([])
    // Only the two calls held under each kill may fail (one whose start had not reached the
    // caller yet when its agent died runs again instead).
    expect(failures.length, 'the calls held under a kill').toBeLessThanOrEqual(12)
    outcomes.forEach((o, i) => o.status === 'fulfilled' && expect([o.value, runs(i) >= 1], `call ${i}`).toEqual([i, true]))
  })

  it('a killed agent runs again only the map items it was running, not the chunk\'s finished ones', async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-map-kills-'))
    const pool = await open({ workersPerNode: 1 })
    // Chunks of 40 items of 30 ms: each agent is killed once it has begun its 6th item, so each
    // kill lands in a chunk with at least 5 finished items.
    const items = Array.from({ length: 120 }, (_, i) => ({ dir, i, ms: 30 }))
    const mapped = parallelMap(items, f.countItemSpin, { compute: pool, chunkSize: 40 })
    const killed = new Set<number>()
    let done = false
    void mapped.finally(() => (done = true))
    const kills = 4
    for (let round = 0; round < kills; round++) {
      let pid: number | undefined
      await until(() => done || (pid = working(killed).find((p) => runs(`pid-${p}`) >= 6)) !== undefined, `an agent 6 items in (round ${round})`)
      if (pid === undefined) break
      kill(pid, killed)
    }
    expect(await mapped).toEqual(items.map((item) => 2 * item.i))
    expect(killed.size, 'kills before the map ended').toBe(kills)
    const extra = items.reduce((sum, item) => sum + runs(item.i) - 1, 0)
    // Per kill: the item it was running, and at most the one whose results were on their way.
    expect(extra, `extra executions for ${kills} kills, per item: ${items.map((item) => runs(item.i)).join('')}`).toBeLessThanOrEqual(2 * kills)
    expect(items.every((item) => runs(item.i) >= 1)).toBe(true)
  })
})
