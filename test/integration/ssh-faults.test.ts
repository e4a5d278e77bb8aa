// The SSH backend when hosts fail mid-run: a killed agent, a killed sshd session, a frozen agent
// (SIGSTOP until the heartbeat gives up), reconnection, retries running out, a dead caller.
// Every call still completes exactly once, with the results of an undisturbed run, and no
// process is left behind (found by the lab's unique directory in their command lines).
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { gather, type Compute, type SshHost } from 'spindle'
import { tasks as t, usePools } from '../helpers/pools.js'
import { alive, ancestorNamed, processesWith, until } from '../helpers/processes.js'
import { runSshTests, startSshLab, type SshLab } from '../helpers/sshd.js'

const child = new URL('../fixtures/lifecycle-child.mjs', import.meta.url).pathname
const CALLS = 24

describe.runIf(runSshTests)('SSH backend faults', () => {
  let lab: SshLab
  let dir = ''
  beforeAll(async () => {
    lab = await startSshLab(2)
  })
  afterAll(async () => {
    await lab?.stop()
  })
  afterEach(async () => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
    dir = ''
    // Nothing of this test left behind: agents, their shells, or local ssh clients (all carry the cache path).
    await until(() => processesWith(lab.host(0).cacheDir!).length === 0, 'every ssh client and agent of the test to exit')
  })
  const start = usePools() // after hooks run last-registered first: pools close before the check above

  /** A caller killed by SIGKILL cannot remove its ControlMaster directory: it makes it in the test's own. */
  const killedCallerOptions = () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-ssh-caller-'))
    return { stdio: ['ignore', 'pipe', 'inherit'] as ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: dir } }
  }

  const open = (extra: Partial<SshHost> = {}, ssh = {}) => start({ backend: 'ssh', hosts: lab.hosts(2, extra), ssh })

  /** Runs CALLS recordRun calls, doing `disturb(pid of node 0's agent)` once node 0 has started some. */
  async function disturbedRun(pool: Compute, disturb: (pid: number) => void) {
    dir = mkdtempSync(join(tmpdir(), 'spindle-ssh-runs-'))
    const [victim] = await pool.broadcast(t.pid())
    const running = pool.run(gather(...Array.from({ length: CALLS }, (_, i) => t.recordRun(dir, i, 40))))
    const startedOnVictim = () => readdirSync(dir).filter((f) => readFileSync(join(dir, f), 'utf8').includes(`${victim}\n`)).length
    await until(() => startedOnVictim() >= 2, 'node 0 to start some calls')
    disturb(victim!)
    const results = await running
    // Same results as an undisturbed run, each delivered once (gather: one value per call, in order)...
    expect(results).toEqual(Array.from({ length: CALLS }, (_, i) => i))
    // ...and only the victim's calls ran again: every run but a call's last was on the lost node.
    for (let i = 0; i < CALLS; i++) {
      const runs = readFileSync(join(dir, String(i)), 'utf8').trim().split('\n').map(Number)
      for (const pid of runs.slice(0, -1)) expect(pid, `call ${i} ran on ${runs.join(', ')}`).toBe(victim)
    }
    return victim!
  }

  it('a killed agent: every call completes once on the surviving host', async () => {
    const pool = await open()
    const victim = await disturbedRun(pool, (pid) => process.kill(pid, 'SIGKILL'))
    // The lost host is out of the rotation: work goes on on the other one...
    expect(await pool.run(gather(t.add(1, 2), t.echo('still here')))).toEqual([3, 'still here'])
    // ...and a broadcast, which needs every node, says which host was lost.
    await expect(pool.broadcast(t.pid())).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED', message: expect.stringContaining(`127.0.0.1:${lab.ports[0]}`) })
    expect(alive(victim)).toBe(false)
  })

  it('a killed sshd session: the calls complete elsewhere and the agent exits by itself', async () => {
    const pool = await open()
    let session: number | undefined
    const victim = await disturbedRun(pool, (pid) => {
      session = ancestorNamed(pid, 'sshd')
      expect(session, `the sshd session serving agent ${pid}`).toBeDefined()
      process.kill(session!, 'SIGKILL')
    })
    await until(() => !alive(victim), `agent ${victim} to exit after its connection died`)
  })

  it('a frozen agent (SIGSTOP): the heartbeat gives up, the calls complete elsewhere, and the agent exits once thawed', async () => {
    const pool = await open({}, { heartbeatInterval: 100, heartbeatTimeout: 800 })
    const victim = await disturbedRun(pool, (pid) => process.kill(pid, 'SIGSTOP'))
    const lost = await pool.broadcast(t.pid()).catch((e: unknown) => e)
    expect(lost).toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED', message: expect.stringContaining('no heartbeat') })
    process.kill(victim, 'SIGCONT') // its connection is gone: it must notice and stop itself
    await until(() => !alive(victim), `thawed agent ${victim} to exit`)
  })

  it('reconnects to a lost host, with a new agent', async () => {
    const pool = await open({}, { reconnect: { attempts: 5, delay: 50 } })
    const victim = await disturbedRun(pool, (pid) => process.kill(pid, 'SIGKILL'))
    const after = await pool.broadcast(t.pid()) // waits for node 0 to be back
    expect(after).toHaveLength(2)
    expect(after[0]).not.toBe(victim)
  })

  it('a call that keeps losing its host fails after 3 re-runs, naming the host and what was seen', async () => {
    const pool = await start({ backend: 'ssh', hosts: [lab.host(0)], ssh: { reconnect: { attempts: 10, delay: 20 } } })
    const error = await pool.run(t.killOwnProcess()).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED', attempts: 4 })
    expect((error as Error).message).toContain(`127.0.0.1:${lab.ports[0]}`)
    expect((error as Error).message).toMatch(/was lost: (the connection ended|ssh was killed)/)
    expect(await pool.run(t.add(2, 2))).toBe(4) // the host came back each time
  })

  it('one host with reconnect: an agent killed under the only call in flight, and the program still prints its result and exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-ssh-runs-'))
    const loss = new URL('../fixtures/agent-loss-child.mjs', import.meta.url).pathname
    const { stdout } = await promisify(execFile)(process.execPath, [loss, 'ssh', join(dir, 'killed'), 'SIGKILL', JSON.stringify(lab.hosts(1))], { timeout: 30_000 })
    expect(stdout).toBe('survived\n')
  })

  it('agents exit when their caller dies, even by SIGKILL', async () => {
    const caller = spawn(process.execPath, [child, 'ssh-orphans', JSON.stringify(lab.hosts(2))], killedCallerOptions())
    const pids = await new Promise<number[]>((resolve) => caller.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()))))
    expect(pids.every(alive)).toBe(true)
    caller.kill('SIGKILL')
    await until(() => pids.every((pid) => !alive(pid)), `agents ${pids.join(', ')} to exit`)
  })

  it('agents whose caller is frozen (its ssh still connected) stop themselves when its heartbeat stops', async () => {
    const ssh = { heartbeatInterval: 100, heartbeatTimeout: 400 } // the agents wait 6 × 400 ms
    const caller = spawn(process.execPath, [child, 'ssh-orphans', JSON.stringify(lab.hosts(2)), JSON.stringify(ssh)], killedCallerOptions())
    const pids = await new Promise<number[]>((resolve) => caller.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()))))
    caller.kill('SIGSTOP') // its ssh clients live on: no EOF reaches the agents, only silence
    try {
      await until(() => pids.every((pid) => !alive(pid)), `agents ${pids.join(', ')} to notice the silence and exit`)
    } finally {
      caller.kill('SIGKILL')
    }
  })

  it('a program that never closes its pool still exits, and its agents with it', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [child, 'ssh-no-close', JSON.stringify(lab.hosts(2))], { timeout: 30_000 })
    expect(stdout).toBe('[3,12]\n')
  })

  it('close() with a call still running: it rejects as closed once closeTimeout has passed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-ssh-runs-'))
    const pool = await start({ backend: 'ssh', hosts: lab.hosts(1), closeTimeout: 100 })
    const held = pool.run(t.holdUntilFile(join(dir, 'started'), join(dir, 'never')))
    await until(() => readdirSync(dir).includes('started') && readdirSync(join(dir, 'started')).length === 1, 'the call to start')
    await pool.close()
    await expect(held).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
  })

  it('close() stops every agent and ssh client', async () => {
    const pool = await open({}, {})
    const pids = await pool.broadcast(t.pid())
    expect(processesWith(lab.host(0).cacheDir!).length).toBeGreaterThanOrEqual(2)
    await pool.close()
    for (const pid of pids) expect(alive(pid), `agent ${pid}`).toBe(false)
    expect(processesWith(lab.host(0).cacheDir!)).toEqual([])
  })
})
