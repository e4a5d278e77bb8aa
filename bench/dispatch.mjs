// Dispatch cost: how many tiny tasks per second can each pool push through, and how long
// does one call take there and back? The work is a no-op, so only the pool is measured.
//
//   (a) throughput: 20,000 no-op calls submitted at once. spindle: one gather() of 20,000
//       pending calls; libraries: 20,000 pool.run() + Promise.all; raw-thread pipelined;
//       raw-thread-1 one in flight per worker.
//   (b) round trip: 2,000 sequential awaited calls; p10 and p50 in µs. This VM's latency
//       is bimodal, so p10 is the figure to compare.
//
// Usage: node bench/dispatch.mjs   (SPINDLE_BENCH_WORKERS, SPINDLE_BENCH_ROUNDS)
import {
  WORKERS, roundsFromEnv, rounds, median, percentile, nowMs, nowNs, nsToUs,
  withTimeout, printTable, bar, writeResult, expectExit, onPool,
} from './lib/harness.mjs'
import { spindleContenders, anchorContenders, rawContenders, openWarm } from './lib/contenders.mjs'

const TASKS = 20_000
const TRIPS = 2_000
const ROUNDS = roundsFromEnv(7)
const TIMEOUT_MS = 60_000 // far above any sane figure: only a hang gets there

const contenders = [
  ...(await spindleContenders(WORKERS)),
  ...anchorContenders(WORKERS),
  ...rawContenders(WORKERS),
]
const errors = {}

async function roundTrips(pool) {
  const samples = new Float64Array(TRIPS)
  for (let i = 0; i < TRIPS; i++) {
    const start = nowNs()
    await pool.run('noop')
    samples[i] = nsToUs(nowNs() - start)
  }
  return samples
}

// One round for one contender: a fresh, warmed pool; latency, then throughput; close.
async function measure(c) {
  return onPool(c.name, errors, TIMEOUT_MS, () => openWarm(c, WORKERS), async (pool) => {
    // Latency first: the throughput burst leaves garbage whose collection would land in these samples.
    const samples = await withTimeout(roundTrips(pool), TIMEOUT_MS, `${c.name}: round trips`)
    const start = nowMs()
    const results = await withTimeout(pool.batch('noop', undefined, TASKS), TIMEOUT_MS, `${c.name}: ${TASKS} tasks`)
    const ms = nowMs() - start
    if (!Array.isArray(results) || results.length !== TASKS) {
      throw new Error(`${c.name}: batch of ${TASKS} returned ${Array.isArray(results) ? results.length + ' results' : typeof results}`)
    }
    return { tps: TASKS / (ms / 1000), p10: percentile(samples, 10), p50: percentile(samples, 50) }
  })
}

console.log(`dispatch: ${WORKERS} workers, ${TASKS} no-op tasks, ${TRIPS} round trips, ${ROUNDS} rounds + 1 warm-up`)
const raw = await rounds(contenders, ROUNDS, measure)

const rows = contenders.map((c) => {
  const ok = raw[c.name].filter(Boolean)
  const pick = (k) => median(ok.map((r) => r[k]))
  return { name: c.name + (c.info ? ' (info)' : ''), key: c.name, tps: pick('tps'), p10: pick('p10'), p50: pick('p50') }
})
const row = (name) => rows.find((r) => r.key === name) ?? {}

printTable(`(a) throughput, ${TASKS} no-op tasks at once (median tasks/s)`, rows,
  [{ key: 'tps', label: 'tasks/s', ratio: true }], 'raw-thread')
printTable(`(b) sequential round trip, ${TRIPS} calls (median over rounds of p10 / p50, µs)`, rows,
  [{ key: 'p10', label: 'p10 µs', ratio: true }, { key: 'p50', label: 'p50 µs' }], 'raw-thread')

const spindle = row('spindle')
console.log('\nbars')
const bars = [
  bar('spindle throughput vs piscina', spindle.tps / row('piscina').tps, '>=', 4),
  bar('spindle throughput vs raw-thread', spindle.tps / row('raw-thread').tps, '>=', 0.5),
  bar('spindle round-trip p10 vs piscina', spindle.p10 / row('piscina').p10, '<=', 1.2),
]
for (const [name, err] of Object.entries(errors)) console.log(`ERROR ${name}: ${err.split('\n')[0]}`)

writeResult('dispatch', { tasks: TASKS, trips: TRIPS, rounds: ROUNDS, summary: rows, perRound: raw, bars, errors })
if (Object.keys(errors).length > 0) process.exitCode = 1
expectExit()
