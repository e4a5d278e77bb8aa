// Process agents and batches that never started: a thread of an agent that runs out of work
// takes back a batch waiting behind a long call on another of its threads, as the dispatcher
// does between nodes; a batch sent to an agent that dies before it began it (killed, or before
// it is ready) runs again without using up an interruption retry.
import { writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { InterruptedError } from 'spindle'
import { tasks as t, usePools, useProbes } from '../helpers/pools.js'

describe('process agent with two threads', () => {
  const start = usePools()
  const probe = useProbes()

  it('moves a call waiting behind a held one to its other thread once that one is idle', async () => {
    const pool = await start({ backend: 'process', workers: 1, workersPerNode: 2 })
    await pool.run(t.noop())
    const held = pool.run(t.holdSyncUntilFile(probe.path('started'), probe.path('go'), probe.path('held')))
    await probe.started('started', 1) // on the agent's thread 0
    // One call per batch (costs unknown): the agent gives them to its least busy thread, so one
    // waits behind the held call until thread 1 is idle and takes it.
    const quick = [1, 2, 3].map((i) => pool.run(t.countRunFile(probe.path(`quick-${i}`))))
    let timer: NodeJS.Timeout | undefined
    const late = new Promise((resolve) => (timer = setTimeout(resolve, 20_000, 'late')))
    const outcome = await Promise.race([Promise.all(quick), late])
    clearTimeout(timer)
    probe.release('go')
    expect(outcome, 'the quick calls all ended while thread 0 was held').toEqual([1, 1, 1])
    expect(await held).toBe('released')
    expect([1, 2, 3].map((i) => probe.runs(`quick-${i}`))).toEqual([1, 1, 1])
  })

  it('runs a call sent to an agent that was killed, and to one that died before it was ready, again without using a retry; a call that kills its agent every time still fails', async () => {
    const marker = probe.path('kill-next-agent')
    // Preloaded in every agent: while the marker exists, the first to see it removes it and dies at once.
    const preload = `import fs from 'node:fs'; try { fs.rmSync(${JSON.stringify(marker)}); process.kill(process.pid, 'SIGKILL') } catch {}`
    const pool = await start({ backend: 'process', workers: 1, interruptionRetries: 0, execArgv: ['--import', `data:text/javascript,${encodeURIComponent(preload)}`] })
    const pid = await pool.run(t.pid())
    writeFileSync(marker, '')
    process.kill(pid, 'SIGKILL')
    // Sent in this same turn, before the agent's exit is seen: to the killed agent (which never
    // said it began it), then to its replacement, which dies before it is ready.
    expect(await pool.run(t.countRunFile(probe.path('runs')))).toBe(1)
    expect(probe.runs('runs')).toBe(1)
    // Word that a call began can die with its agent (this one kills it at once): such a call
    // still ends in InterruptedError, once agents keep dying with nothing begun.
    await expect(pool.run(t.killOwnProcess())).rejects.toBeInstanceOf(InterruptedError)
    expect(await pool.run(t.countRunFile(probe.path('after')))).toBe(1)
  })
})
