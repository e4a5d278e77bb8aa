// The Redis backend (issue 16): workers that dial in to a broker, against BullMQ on the same
// redis-server (lib/redis-lab.mjs: 127.0.0.1, a free port, nothing saved). Each side has 2
// worker processes running one task at a time: spindle's `worker-main.js URL POOL 1` (what
// `spindle worker --workers-per-node 1` runs), BullMQ's fixtures/bullmq-worker.mjs (a Worker of
// concurrency 1, defaults otherwise). Each round opens a fresh pool (a new pool / queue name and
// new worker processes), warms it, measures, and closes it.
//
//   (a) round trip: 2,000 sequential awaited no-ops; p10 / p50 µs. spindle: compute.run(t.noop());
//       BullMQ: queue.add() then job.waitUntilFinished(queueEvents). Bar: spindle p50 <= 500 µs.
//   (b) throughput: 20,000 no-ops at once. spindle: one gather; BullMQ: one addBulk, then until
//       its completed count has grown by 20,000 (read every 2 ms). Bar: spindle >= 30,000 calls/s.
//   (c) recovery: 200 calls of spinPid(5) on 2 workers (heartbeat 1000 ms, the default), one
//       worker SIGKILLed once 150 have settled; from the kill until spindle reports the node lost
//       (compute.on('node')), and until every call has settled (on the other worker), against
//       the heartbeat timeout (3 × heartbeatMs); the kill lands at a random phase of the
//       heartbeat. BullMQ's recovery is quoted from its defaults (lockDuration 30 s,
//       stalledInterval 30 s: a killed worker's job is retried after 30-60 s);
//       SPINDLE_BENCH_BULLMQ_STALL=1 also measures it once (about a minute).
//
// Usage: node bench/redis.mjs   (SPINDLE_BENCH_ROUNDS; needs redis-server on the PATH)
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Queue, QueueEvents } from 'bullmq'
import {
  roundsFromEnv, rounds, median, percentile, nowMs, nowNs, nsToUs, withTimeout, printTable, fmt, bar, writeResult, expectExit, onPool,
} from './lib/harness.mjs'
import { spawnBullWorker, spawnSpindleWorker, startRedis, stopChild } from './lib/redis-lab.mjs'

const TASKS = 20_000
const TRIPS = 2_000
const PROCESSES = 2
const HEARTBEAT_MS = 1000
const KEY_LIFETIME_MS = 3 * HEARTBEAT_MS
const RECOVERY_CALLS = 200
const RECOVERY_SPIN_MS = 5
const KILL_AFTER = 150
const ROUNDS = roundsFromEnv(3)
const TIMEOUT_MS = 120_000 // far above any sane figure: only a hang gets there
const DIST = new URL('../dist/index.js', import.meta.url)

if (!existsSync(DIST) || spawnSync('redis-server', ['--version']).status !== 0) {
  console.error(!existsSync(DIST) ? 'dist/index.js not found: run `npm run build`' : 'redis-server is not installed: apt-get install redis-server')
  process.exit(1)
}
const { remote, gather, Compute } = await import(DIST.href)
const t = remote(new URL('./fixtures/tasks.mjs', import.meta.url))
const redis = await startRedis()
let pools = 0
const freshName = (kind) => `bench-${kind}-${process.pid}-${++pools}`
const times = (n, f) => Array.from({ length: n }, f)

/** A fresh spindle pool: PROCESSES workers dial in, Compute.start() waits for all of them. */
async function openSpindle() {
  const pool = freshName('spindle')
  const workers = await Promise.all(times(PROCESSES, () => spawnSpindleWorker(redis.url, pool, { heartbeatMs: HEARTBEAT_MS })))
  const stopWorkers = () => Promise.all(workers.map((w) => stopChild(w.child))) // SIGTERM: they leave the pool
  const compute = await Compute.start({ backend: 'redis', redis: { url: redis.url, heartbeatMs: HEARTBEAT_MS }, pool, minNodes: PROCESSES, startTimeout: 30_000 })
    .catch(async (error) => (await stopWorkers(), Promise.reject(error)))
  return {
    compute,
    workers,
    run: () => compute.run(t.noop()),
    batch: (n) => compute.run(gather(...times(n, () => t.noop()))),
    close: async () => {
      await compute.close()
      await stopWorkers()
    },
  }
}

/** A fresh BullMQ queue, its QueueEvents, and PROCESSES worker processes. */
async function openBull({ reportActive = false } = {}) {
  const name = freshName('bullmq')
  const queue = new Queue(name, { connection: redis.connection })
  const events = new QueueEvents(name, { connection: redis.connection })
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
  const workers = await Promise.all(times(PROCESSES, () => spawnBullWorker(redis.port, name, { reportActive })))
  return {
    queue,
    events,
    workers,
    run: async () => (await queue.add('noop', null)).waitUntilFinished(events),
    batch: async (n) => {
      const target = (await queue.getCompletedCount()) + n
      await queue.addBulk(times(n, () => ({ name: 'noop', data: null })))
      // Counting 'completed' events could miss some: BullMQ trims its event stream to ~10,000.
      while ((await queue.getCompletedCount()) < target) await new Promise((resolve) => setTimeout(resolve, 2))
      const failed = await queue.getFailedCount()
      if (failed > 0) throw new Error(`BullMQ: ${failed} jobs failed`)
      return { length: n }
    },
    close: async () => {
      await Promise.all(workers.map((w) => stopChild(w.child)))
      await queue.obliterate({ force: true })
      await Promise.all([events.close(), queue.close()])
    },
  }
}

/** (a) and (b) on one open pool, as bench/ssh.mjs does. */
async function dispatch(pool) {
  for (let i = 0; i < 200; i++) await pool.run() // warm the path (JIT, the batch sizer, connections)
  await pool.batch(200)
  const samples = new Float64Array(TRIPS)
  for (let i = 0; i < TRIPS; i++) {
    const start = nowNs()
    await pool.run()
    samples[i] = nsToUs(nowNs() - start)
  }
  const start = nowMs()
  const out = await withTimeout(pool.batch(TASKS), TIMEOUT_MS, `${TASKS} no-ops`)
  const ms = nowMs() - start
  if (out.length !== TASKS) throw new Error(`${out.length} results for ${TASKS} calls`)
  return { p10: percentile(samples, 10), p50: percentile(samples, 50), tps: TASKS / (ms / 1000) }
}

/** (c) One worker SIGKILLed while both run calls: when is it lost, when has every call settled? */
async function recovery(pool) {
  await pool.batch(200)
  const { compute, workers } = pool
  // The kill lands at a random point of the heartbeat cycle (not always as long after the pool
  // opened), so the rounds sample the whole range of detection times, 2 to 4 heartbeats.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * HEARTBEAT_MS))
  const lost = new Promise((resolve) => compute.on('node', (event) => event.type === 'lost' && resolve(nowMs())))
  let settled = 0
  let killedAt
  let kill
  const killNow = new Promise((resolve) => (kill = resolve))
  const calls = times(RECOVERY_CALLS, () => compute.run(t.spinPid(RECOVERY_SPIN_MS)).then((pid) => {
    if (++settled === KILL_AFTER) kill()
    return { pid, at: nowMs() }
  }))
  await killNow
  const victim = workers[0].child
  victim.kill('SIGKILL')
  killedAt = nowMs()
  const results = await withTimeout(Promise.all(calls), TIMEOUT_MS, 'calls after the kill')
  const lostAt = await withTimeout(lost, TIMEOUT_MS, 'the lost event')
  const afterKill = results.filter((r) => r.at > killedAt)
  // An answer it sent just before dying may be read after the kill, but none once it is lost.
  if (afterKill.some((r) => r.pid === victim.pid && r.at >= lostAt)) throw new Error('a lost worker\'s answer was taken')
  return {
    lostMs: lostAt - killedAt,
    settledMs: Math.max(...results.map((r) => r.at)) - killedAt,
    // The calls that waited for the loss: the victim's, run again on the survivor.
    rerun: afterKill.filter((r) => r.at >= lostAt).length,
  }
}

const contenders = [
  { name: 'spindle-redis', open: openSpindle, measure: dispatch },
  { name: 'bullmq', open: openBull, measure: dispatch },
  { name: 'spindle-recovery', open: openSpindle, measure: recovery },
]
const errors = {}
console.log(`redis: ${PROCESSES} worker processes × 1 task at a time, redis-server ${redis.url}; ` +
  `${TRIPS} round trips, ${TASKS} no-ops, a worker killed; ${ROUNDS} rounds + 1 warm-up`)
const raw = await rounds(contenders, ROUNDS, (c) => onPool(c.name, errors, TIMEOUT_MS, c.open, c.measure))

/** Opt-in: a BullMQ worker SIGKILLed while it runs a job; until the job completes on the other. */
async function bullStall() {
  const pool = await openBull({ reportActive: true })
  try {
    const job = await pool.queue.add('spin', { ms: 200 })
    const victim = await Promise.race(pool.workers.map((w) => new Promise((resolve) =>
      w.lines.on('line', (line) => line === `active ${job.id}` && resolve(w.child)))))
    victim.kill('SIGKILL')
    const killedAt = nowMs()
    await job.waitUntilFinished(pool.events, TIMEOUT_MS)
    return nowMs() - killedAt
  } finally {
    await pool.close()
  }
}
let bullStallMs
if (process.env.SPINDLE_BENCH_BULLMQ_STALL === '1') {
  process.stderr.write('  BullMQ stalled-job recovery (up to a minute)...\n')
  bullStallMs = await bullStall().catch((error) => ((errors['bullmq-stall'] = error.stack ?? String(error)), undefined))
}
await redis.stop()

const rows = contenders.map((c) => {
  const ok = raw[c.name].filter(Boolean)
  const of = (key) => median(ok.map((r) => r[key]).filter((v) => v !== undefined))
  return { name: c.name, p10: of('p10'), p50: of('p50'), tps: of('tps'), lostMs: of('lostMs'), settledMs: of('settledMs'), rerun: of('rerun') }
})
const row = (name) => rows.find((r) => r.name === name) ?? {}
const [spindle, bull, rec] = ['spindle-redis', 'bullmq', 'spindle-recovery'].map(row)
const dispatchRows = [spindle, bull]

printTable(`(a) round trip, ${TRIPS} sequential no-ops (median of rounds; µs)`, dispatchRows,
  [{ key: 'p10', label: 'p10 µs' }, { key: 'p50', label: 'p50 µs', ratio: true }], 'bullmq')
printTable(`(b) throughput, ${TASKS} no-ops at once on ${PROCESSES} workers (median calls/s)`, dispatchRows,
  [{ key: 'tps', label: 'calls/s', ratio: true }], 'bullmq')
printTable(`(c) recovery from a SIGKILLed worker, heartbeat ${HEARTBEAT_MS} ms (median ms after the kill)`, [rec],
  [{ key: 'lostMs', label: 'node lost' }, { key: 'settledMs', label: 'all settled' }, { key: 'rerun', label: 'calls rerun' }])
const lostRange = raw['spindle-recovery'].filter(Boolean).map((r) => r.lostMs)
console.log(`node lost after ${fmt(Math.min(...lostRange))}-${fmt(Math.max(...lostRange))} ms over the rounds; its key expires 2-3 heartbeats ` +
  `after the kill (renewed up to one before it), and the caller's check comes up to one heartbeat later`)
console.log(`BullMQ, a killed worker's job: retried once its lock (lockDuration 30 s) has expired and the next stalled check ` +
  `(stalledInterval 30 s) has run, i.e. 30-60 s after the kill` + (bullStallMs === undefined ? ' (its documented defaults; not measured)' : `; measured once: ${(bullStallMs / 1000).toFixed(1)} s`))

console.log('\nbars')
const bars = [
  bar('spindle redis round trip p50', spindle.p50, '<=', 500, ' µs'),
  bar('spindle redis no-op throughput, 2 workers', spindle.tps, '>=', 30_000, ' calls/s'),
]
const ratio = (a, b) => `${(a / b).toFixed(2)}×`
console.log(`ratios spindle/BullMQ: round trip p50 ${ratio(spindle.p50, bull.p50)}, p10 ${ratio(spindle.p10, bull.p10)}, ` +
  `throughput ${ratio(spindle.tps, bull.tps)}; recovery: all settled / heartbeat timeout ${ratio(rec.settledMs, KEY_LIFETIME_MS)}`)
for (const [name, err] of Object.entries(errors)) console.log(`ERROR ${name}: ${err.split('\n')[0]}`)

writeResult('redis', {
  tasks: TASKS, trips: TRIPS, rounds: ROUNDS, processes: PROCESSES, heartbeatMs: HEARTBEAT_MS, bullmqWorkers: 'child processes',
  bullmqStallMs: bullStallMs ?? null, summary: rows, perRound: raw, bars, errors,
})
if (Object.keys(errors).length > 0) process.exitCode = 1
expectExit()
