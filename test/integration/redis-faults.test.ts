// The Redis backend under the faults issue 16 names, each on worker processes of its own
// (heartbeats every 200 ms, so keys live 600 ms): the broker restarted with nothing saved
// (SHUTDOWN NOSAVE), the broker paused for longer than a key lives (CLIENT PAUSE), a worker
// frozen (SIGSTOP) until it is lost and then let go, a reply frame sent again, and a caller
// killed. Every call settles once with its right result, and nothing is left running.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { deserialize } from 'node:v8'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Compute, gather } from 'spindle'
import { tasks as t, useProbes } from '../helpers/pools.js'
import { runRedisTests, spawnRedisWorker, startRedisLab, type RedisLab, type WorkerProcess } from '../helpers/redis.js'

const CALLER = fileURLToPath(new URL('../fixtures/redis-caller.mjs', import.meta.url))
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)

describe.runIf(runRedisTests)('the Redis backend under faults', () => {
  let lab: RedisLab
  const children: ChildProcess[] = []
  const probe = useProbes()
  let pools = 0
  beforeAll(async () => {
    lab = await startRedisLab()
  })
  afterEach(() => {
    for (const child of children.splice(0)) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
  })
  afterAll(async () => lab?.stop())

  /** A fresh pool name with `count` worker processes in it. */
  async function poolWithWorkers(count: number): Promise<{ pool: string; workers: WorkerProcess[] }> {
    const pool = `faults-${++pools}`
    const workers = await Promise.all(range(0, count).map(() => spawnRedisWorker(lab.url, pool)))
    children.push(...workers.map((w) => w.child))
    return { pool, workers }
  }
  const start = (pool: string, minNodes = 2) => Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool, minNodes, startTimeout: 30_000 })
  const poolKey = (pool: string, rest: string) => `spindle:{${pool}}:${rest}`
  /** The ids of the callers with a heartbeat in `pool`. */
  const callers = async (pool: string) => (await lab.admin.keys(poolKey(pool, 'c:*'))).filter((k) => !k.endsWith(':out')).map((k) => k.split(':c:')[1]!)
  /**
   * Every answer to a batch put on `caller`'s reply stream from entry `from` on, as it arrives
   * (the caller trims what it has read, so a reader of the test's own keeps the frames to replay).
   */
  function collectAnswers(pool: string, caller: string, from: string) {
    const reader = lab.admin.duplicate()
    const answers: { worker: string; frame: Buffer }[] = []
    let last = from
    const reading = (async () => {
      for (;;) {
        const read = await reader.xreadBuffer('BLOCK', 0, 'STREAMS', poolKey(pool, `c:${caller}:out`), last).catch(() => null)
        if (read === null) return
        for (const [entry, fields] of read[0]![1]) {
          last = entry.toString()
          const worker = fields[fields.findIndex((f) => f.toString() === 'w') + 1]!.toString()
          const frame = fields[fields.findIndex((f) => f.toString() === 'm') + 1]!
          const message = deserialize(frame) as Record<string, unknown>
          if ('done' in message || 'failed' in message) answers.push({ worker, frame })
        }
      }
    })()
    return { answers, stop: async () => (reader.disconnect(), await reading) }
  }
  const lastEntry = async (key: string) => (await lab.admin.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0'

  it('a broker restarted with nothing saved (SHUTDOWN NOSAVE) loses no call: running, queued, and sent while it was down', async () => {
    const { pool } = await poolWithWorkers(2)
    await using compute = await start(pool)
    const held = range(0, 2).map(() => compute.run(t.holdUntilFile(probe.path('started'), probe.path('go'))))
    await probe.started('started', 2) // each worker's one thread is held
    const queued = compute.run(gather(...range(0, 20).map((i) => t.echo(i))))
    await lab.shutdown()
    const whileDown = compute.run(gather(...range(20, 20).map((i) => t.echo(i))))
    await lab.serve()
    probe.release('go')
    expect(await Promise.all(held)).toEqual(['released', 'released'])
    expect(await queued).toEqual(range(0, 20))
    expect(await whileDown).toEqual(range(20, 20))
    expect(await compute.run(gather(...range(40, 20).map((i) => t.echo(i))))).toEqual(range(40, 20))
    expect(compute.stats().nodes.map((n) => n.lost)).toEqual([0, 0]) // the workers' keys were gone for a while, and they were not lost
    expect((await compute.broadcast(t.info())).map((i) => i.rank)).toEqual([0, 1])
    const registered = async () => (await lab.admin.smembers(poolKey(pool, 'workers'))).sort()
    while ((await registered()).length < 2) await new Promise((resolve) => setTimeout(resolve, 20)) // polling: each worker registers again when it sees the new run_id
    expect(await registered()).toEqual([...(await compute.broadcast(t.info()))[0]!.peers].sort())
  })

  it('a broker paused (CLIENT PAUSE) for longer than a key lives delays calls and loses no worker', async () => {
    const { pool } = await poolWithWorkers(2)
    await using compute = await start(pool)
    const before = compute.run(gather(...range(0, 20).map((i) => t.delayedEcho(i, 20))))
    await lab.admin.call('CLIENT', 'PAUSE', '1500', 'ALL') // 2.5 key lifetimes
    const during = compute.run(gather(...range(20, 20).map((i) => t.echo(i))))
    expect(await before).toEqual(range(0, 20))
    expect(await during).toEqual(range(20, 20))
    expect(compute.stats().nodes.map((n) => n.lost)).toEqual([0, 0])
    expect(compute.nodes).toBe(2)
  })

  it('a frozen worker (SIGSTOP) is lost and its call runs on another; woken, it joins again as a new worker', async () => {
    const { pool, workers } = await poolWithWorkers(2)
    await using compute = await start(pool)
    const dir = probe.path('runs')
    const calls = compute.run(gather(t.recordRun(dir, 0, 300), t.recordRun(dir, 1, 300)))
    while (!existsSync(`${dir}/0`) || !existsSync(`${dir}/1`)) await new Promise((resolve) => setTimeout(resolve, 5)) // polling: both run
    const frozen = workers.find((w) => readFileSync(`${dir}/0`, 'utf8').includes(String(w.child.pid)))!
    frozen.child.kill('SIGSTOP')
    expect(await calls).toEqual([0, 1]) // call 0 ran again on the other worker once the frozen one's key expired
    expect(readFileSync(`${dir}/0`, 'utf8').trim().split('\n')).toHaveLength(2)
    expect(compute.nodes).toBe(1)

    frozen.child.kill('SIGCONT') // it finds it was lost, ends what it ran, and joins again
    while (compute.nodes < 2) await new Promise((resolve) => setTimeout(resolve, 20)) // polling: the join
    const ids = (await compute.broadcast(t.info())).map((i) => i.peers)[0]!
    expect(ids).toHaveLength(2)
    expect(ids).not.toContain(frozen.id)
    expect(await lab.admin.exists(poolKey(pool, `w:${frozen.id}`), poolKey(pool, `w:${frozen.id}:lost`))).toBe(0)
    expect(await compute.run(gather(...range(0, 10).map((i) => t.echo(i))))).toEqual(range(0, 10))
    expect(readFileSync(`${dir}/0`, 'utf8').trim().split('\n')).toHaveLength(2) // its old call did not run a third time
  })

  it('a reply frame sent again (replayed, or late from a worker lost since) is dropped: every call settles once', async () => {
    const { pool, workers } = await poolWithWorkers(2)
    await using compute = await start(pool)
    const [caller] = await callers(pool)
    const outbox = poolKey(pool, `c:${caller}:out`)
    const collector = collectAnswers(pool, caller!, await lastEntry(outbox))
    try {
      // Answers from both workers to replay (a broadcast reaches each; the reader may miss one the caller trimmed first).
      for (let i = 0; i < 50 && new Set(collector.answers.map((a) => a.worker)).size < 2; i++) await compute.broadcast(t.echo(i))
      expect(new Set(collector.answers.map((a) => a.worker))).toEqual(new Set(workers.map((w) => w.id)))
      const completed = () => compute.stats().completed
      let before = completed()
      expect(await compute.run(gather(...range(0, 10).map((i) => t.echo(i))))).toEqual(range(0, 10))
      const perGather = completed() - before
      const replayed = collector.answers.splice(0) // the collector reads the replays too
      for (const { worker, frame } of replayed) await lab.admin.xadd(outbox, '*', 'w', worker, 'm', frame)
      await lab.admin.xadd(outbox, '*', 'w', 'a-worker-that-never-joined', 'm', replayed[0]!.frame)
      before = completed()
      expect(await compute.run(gather(...range(10, 10).map((i) => t.echo(i))))).toEqual(range(10, 10))
      expect(completed() - before).toBe(perGather)
      expect(compute.stats()).toMatchObject({ failed: 0 })
    } finally {
      await collector.stop()
    }
  })

  it("a caller killed mid-call has its call stopped on the worker and its keys deleted; the worker serves the next caller", async () => {
    const { pool } = await poolWithWorkers(1)
    const file = probe.path('spinning')
    const caller = spawn(process.execPath, [CALLER, lab.url, pool, file], { stdio: 'inherit' })
    children.push(caller)
    while (!existsSync(file) || statSync(file).size < 10) await new Promise((resolve) => setTimeout(resolve, 5)) // polling: it spins
    const [id] = await callers(pool)
    caller.kill('SIGKILL')
    while ((await lab.admin.exists(poolKey(pool, `c:${id}`), poolKey(pool, `c:${id}:out`))) > 0) await new Promise((resolve) => setTimeout(resolve, 20))
    const size = statSync(file).size
    await using compute = await start(pool, 1)
    expect(await compute.run(t.delayedEcho('next', 200))).toBe('next') // a round trip, and time enough for a spinning thread to write
    expect(statSync(file).size).toBe(size) // its thread was ended with its session
  })
})
