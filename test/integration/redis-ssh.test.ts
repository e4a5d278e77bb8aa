// `hosts` on the Redis backend: the caller starts a worker on each host over SSH (two sshd on
// 127.0.0.1, the SSH backend's bootstrap), the workers dial in to the test's redis-server (a unix
// socket, reachable from the loopback hosts' sessions), and closing the pool ends them.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Compute, gather, remote } from 'spindle'
import type * as Tasks from '../fixtures/redis-ssh-tasks.mjs'
import { tasks } from '../helpers/pools.js'
import { alive, processesWith, until } from '../helpers/processes.js'
import { runRedisTests, startRedisLab, type RedisLab } from '../helpers/redis.js'
import { runSshTests, startSshLab, type SshLab } from '../helpers/sshd.js'

const CALLER = fileURLToPath(new URL('../fixtures/redis-ssh-caller.mjs', import.meta.url))
const t = remote<typeof Tasks>(new URL('../fixtures/redis-ssh-tasks.mjs', import.meta.url))

describe.runIf(runSshTests && runRedisTests)('Redis workers started over SSH', () => {
  let ssh: SshLab
  let redis: RedisLab
  /** Every ssh client and host process of the lab has the hosts' cache directory in its command line. */
  let marker = ''
  const open: Compute[] = []
  beforeAll(async () => {
    ;[ssh, redis] = await Promise.all([startSshLab(2), startRedisLab()])
    marker = ssh.host(0).cacheDir!
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((pool) => pool.close()))
    await until(() => processesWith(marker).length === 0, 'every ssh client and worker of the test to exit')
  })
  afterAll(async () => {
    await Promise.all([ssh?.stop(), redis?.stop()])
  })
  const start = async (options: Parameters<typeof Compute.start>[0]) => {
    const pool = await Compute.start(options)
    open.push(pool)
    return pool
  }
  /** Compute.start's rejection (a pool it started after all is closed). */
  const refused = (options: Parameters<typeof Compute.start>[0]) =>
    Compute.start(options).then(
      async (pool) => {
        await pool.close()
        throw new Error('Compute.start() succeeded')
      },
      (error: unknown) => error as Error & { code: string },
    )
  const members = (pool: string) => redis.admin.smembers(`spindle:{${pool}}:workers`)

  it('a worker on each host joins the pool and runs its calls; closing the pool ends them, ssh and worker', async () => {
    const pool = await start({ backend: 'redis', redis: { url: redis.url, heartbeatMs: 200 }, pool: 'launched', hosts: ssh.hosts(2), workersPerNode: 2 })
    expect(pool.nodes, 'start waited for both hosts (minNodes defaults to their number)').toBe(2)
    const seen = await pool.run(gather(...Array.from({ length: 20 }, () => t.where())))
    expect(new Set(seen.map((s) => s.backend))).toEqual(new Set(['redis']))
    expect(new Set(seen.map((s) => s.workersPerNode))).toEqual(new Set([2]))
    const pids = [...new Set((await pool.broadcast(t.where())).map((s) => s.pid))]
    expect(pids).toHaveLength(2)
    expect(pids).not.toContain(process.pid)
    const running = processesWith(marker)
    for (const pid of pids) expect(running, 'the workers are the hosts\' processes, started over ssh').toContain(pid)
    expect(running.length, 'an ssh client and a worker per host').toBeGreaterThanOrEqual(4)
    expect(await members('launched')).toHaveLength(2)

    await pool.close()
    await until(() => running.every((pid) => !alive(pid)), 'the ssh clients and the workers to exit', 15_000)
    expect(await members('launched'), 'the workers left the pool').toEqual([])
  })

  it('the launched workers are ordinary members: another caller of the pool uses them', async () => {
    await start({ backend: 'redis', redis: { url: redis.url, heartbeatMs: 200 }, pool: 'shared', hosts: ssh.hosts(2) })
    const other = await start({ backend: 'redis', redis: { url: redis.url, heartbeatMs: 200 }, pool: 'shared', minNodes: 2 })
    const pids = new Set((await other.broadcast(t.where())).map((s) => s.pid))
    expect(pids.size).toBe(2)
    expect(pids.has(process.pid)).toBe(false)
  })

  it("a worker leaving with the pool that started it finishes another caller's call first", async () => {
    const launcher = await start({ backend: 'redis', redis: { url: redis.url, heartbeatMs: 200 }, pool: 'finish', hosts: [ssh.host(0)] })
    const other = await start({ backend: 'redis', redis: { url: redis.url, heartbeatMs: 200 }, pool: 'finish', minNodes: 1 })
    const dir = mkdtempSync(join(tmpdir(), 'spindle-redis-ssh-'))
    try {
      const call = other.run(tasks.holdUntilFile(join(dir, 'started'), join(dir, 'release')))
      await until(() => existsSync(join(dir, 'started')) && readdirSync(join(dir, 'started')).length === 1, 'the call to start on the launched worker')
      const worker = Number(readdirSync(join(dir, 'started'))[0]!.split('-')[0])
      const running = processesWith(marker)
      expect(running).toContain(worker)
      await launcher.close() // bounded: it drops the ssh connection after a grace; the worker is leaving by then
      expect(alive(worker), 'the worker is still running the call').toBe(true)
      writeFileSync(join(dir, 'release'), '')
      expect(await call).toBe('released')
      await until(() => running.every((pid) => !alive(pid)), 'the worker to exit once its call answered', 15_000)
      expect(await members('finish')).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a caller that dies (SIGKILL) leaves nothing running: its ssh ends, and the workers leave the pool', async () => {
    const caller = spawn(process.execPath, [CALLER, redis.url, 'orphans', JSON.stringify(ssh.hosts(2))], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const [line] = await once(createInterface({ input: caller.stdout! }), 'line')
      const pids = JSON.parse(line as string) as number[]
      expect(pids).toHaveLength(2)
      const running = processesWith(marker)
      for (const pid of pids) expect(running).toContain(pid)
      caller.kill('SIGKILL')
      await until(() => running.every((pid) => !alive(pid)), 'the ssh clients and the workers to exit', 15_000)
      expect(await members('orphans')).toEqual([])
    } finally {
      caller.kill('SIGKILL')
    }
  })

  it('an unreachable host fails start with the SSH backend\'s error, and leaves nothing running', async () => {
    const port = await closedPort()
    const error = await refused({ backend: 'redis', redis: { url: redis.url, heartbeatMs: 200 }, pool: 'unreachable', hosts: [ssh.host(0), ssh.host(1, { port })] })
    expect(error).toMatchObject({ name: 'SshError', code: 'ERR_SPINDLE_SSH_UNREACHABLE', host: `${ssh.host(0).user}@127.0.0.1:${port}` })
    await until(() => processesWith(marker).length === 0, 'the worker started on the good host to exit', 15_000)
    expect(await members('unreachable'), 'the good host\'s worker left the pool').toEqual([])
  })

  it('a broker the hosts cannot reach is named in the error', async () => {
    const error = await refused({ backend: 'redis', redis: { url: `${ssh.dir}/no-such.sock` }, pool: 'nowhere', hosts: [ssh.host(0)], ssh: { connectTimeout: 4000 } })
    expect(error).toMatchObject({ name: 'SshError', code: 'ERR_SPINDLE_SSH_BOOTSTRAP' })
    expect(error.message).toContain('could not join pool nowhere through Redis')
  })

  it('`ssh` and `workersPerNode` are for workers started on `hosts`', async () => {
    const base = { backend: 'redis', redis: { url: redis.url }, pool: 'p' } as const
    await expect(Compute.start({ ...base, ssh: { connectTimeout: 1000 } })).rejects.toThrow('`ssh` on the Redis backend is for the workers it starts over SSH on `hosts`')
    await expect(Compute.start({ ...base, workersPerNode: 2 })).rejects.toThrow('--workers-per-node')
    await expect(Compute.start({ ...base, hosts: ['a'], ssh: { reconnect: true } })).rejects.toThrow('`ssh.reconnect` is for the SSH backend')
    await expect(Compute.start({ ...base, hosts: ['a;b'] })).rejects.toMatchObject({ code: 'ERR_SPINDLE_SSH_INVALID_HOST' })
  })
})

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
