// The Redis backend on a redis-server of the test's own: workers that dial in (in this process,
// each with its own threads) become nodes, calls wait for a first one, a worker that joins
// mid-run gets work, one that leaves finishes what it began and gets nothing after.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Compute, gather } from 'spindle'
import { startRedisWorker, type RedisWorker } from '../../dist/backends/redis/redis-worker.js'
import { tasks as t } from '../helpers/pools.js'
import { runRedisTests, spawnRedisWorker, startRedisLab, type RedisLab } from '../helpers/redis.js'

describe.runIf(runRedisTests)('the Redis backend', () => {
  let lab: RedisLab
  const workers: RedisWorker[] = []
  const children: ChildProcess[] = []
  beforeAll(async () => {
    lab = await startRedisLab()
  })
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL')
    await Promise.all(workers.splice(0).map((w) => w.stop()))
    await lab?.stop()
  })
  const worker = async (pool: string) => {
    const started = await startRedisWorker({ url: lab.url, pool, workersPerNode: 1, heartbeatMs: 200 })
    workers.push(started)
    return started
  }

  it('runs calls on workers that dial in, before and after the pool starts', async () => {
    await worker('first')
    await using compute = await Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool: 'first' })
    expect(await compute.run(t.add(1, 2))).toBe(3)
    await worker('first')
    const infos = await compute.run(gather(...Array.from({ length: 50 }, () => t.info())))
    expect(infos.every((i) => i.backend === 'redis')).toBe(true)
    while (compute.nodes < 2) await new Promise((resolve) => setTimeout(resolve, 5)) // polling, not an oracle
    const where = await compute.broadcast(t.info())
    expect(where.map((i) => [i.rank, i.totalNodes])).toEqual([
      [0, 2],
      [1, 2],
    ])
    // Streams do not grow: each reader trims what it has read, down to its last entry.
    const lengths = async () => Promise.all([...where.map((i) => `spindle:{first}:w:${i.peers[i.rank]}:in`), ...(await lab.admin.keys('spindle:{first}:c:*:out'))].map((key) => lab.admin.xlen(key)))
    while ((await lengths()).some((length) => length > 1)) await new Promise((resolve) => setTimeout(resolve, 20)) // polling: trims follow reads
    expect((await lengths()).length).toBe(3)
  })

  it('a worker killed mid-batch (SIGKILL) is lost once its heartbeat expires; its calls run again on another, each settling once', async () => {
    const spawnWorker = async () => {
      const started = await spawnRedisWorker(lab.url, 'third')
      children.push(started.child)
      return started
    }
    const doomed = await spawnWorker()
    const alive = await spawnWorker()
    await using compute = await Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool: 'third' })
    while (compute.nodes < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    const dir = mkdtempSync(join(tmpdir(), 'spindle-redis-runs-'))
    try {
      const calls = compute.run(gather(...Array.from({ length: 8 }, (_, i) => t.recordRun(dir, i, 100))))
      while (readdirSync(dir).length < 2) await new Promise((resolve) => setTimeout(resolve, 5)) // both workers busy
      doomed.child.kill('SIGKILL')
      expect((await calls).length).toBe(8)
      expect(compute.nodes).toBe(1)
      await compute.close()
      // What is left of the pool is the live worker's; of the lost one only the mark that tells it, were
      // it frozen; and the task modules' sources, for the next caller (they expire).
      const left = (await lab.admin.keys('spindle:{third}:*')).filter((key) => !key.startsWith('spindle:{third}:m:')).map((key) => key.replace(doomed.id, 'DOOMED').replace(alive.id, 'ALIVE')).sort()
      expect(left).toEqual(['spindle:{third}:joins', 'spindle:{third}:w:ALIVE', 'spindle:{third}:w:ALIVE:in', 'spindle:{third}:w:DOOMED:lost', 'spindle:{third}:workers'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a worker that leaves finishes what it began; the calls after it run on the others', async () => {
    const leaving = await worker('second')
    await worker('second')
    await using compute = await Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool: 'second' })
    while (compute.nodes < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    const where = await compute.broadcast(t.info())
    const gone = where.find((i) => i.peers[i.rank] === leaving.id)!.node
    const stays = where.find((i) => i.node !== gone)!.node
    const running = compute.run(t.delayedEcho('done', 300), { node: gone })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await leaving.stop()
    workers.splice(workers.indexOf(leaving), 1)
    expect(await running).toBe('done')
    const after = await compute.run(gather(...Array.from({ length: 20 }, () => t.info())))
    expect(new Set(after.map((i) => i.node))).toEqual(new Set([stays]))
    expect(compute.nodes).toBe(1)
  })
})
