// The process backend: Compute.start({ backend: 'process', workers: N }) runs N child
// processes (node agents, one worker thread each by default). What does crossing a
// process boundary cost per task, and does it still keep every process busy?
//
//   (a) throughput: 20,000 no-op calls submitted at once. spindle: one gather() of 20,000
//       pending calls; tinypool (runtime 'child_process'): 20,000 pool.run() + Promise.all;
//       raw-fork (lib/raw-fork.mjs): child_process.fork, advanced serialization, one task
//       in flight per child. Bars: spindle >= 2× tinypool, >= 0.5× raw-fork.
//   (b) CPU efficiency: 64 × spin(20) on N processes, (64 × 20 ms) / (wall × N).
//       Bar: spindle >= 0.95 on 2 workers.
//
// Usage: node bench/process.mjs   (SPINDLE_BENCH_WORKERS, SPINDLE_BENCH_ROUNDS)
import { existsSync } from 'node:fs'
import Tinypool from 'tinypool'
import {
  WORKERS, roundsFromEnv, rounds, median, nowMs, withTimeout, printTable, bar, writeResult, expectExit, onPool,
} from './lib/harness.mjs'
import { openWarm } from './lib/contenders.mjs'
import { RawForkPool } from './lib/raw-fork.mjs'

const NOOPS = 20_000
const SPINS = 64
const SPIN_MS = 20
const IDEAL_MS = SPINS * SPIN_MS
const ROUNDS = roundsFromEnv(3)
const TIMEOUT_MS = 60_000 // far above any sane figure: only a hang gets there

const fixture = (file) => new URL(`./fixtures/${file}`, import.meta.url)
const DIST = new URL('../dist/index.js', import.meta.url)
const batchOfRuns = (run) => (fn, arg, n) => Promise.all(Array.from({ length: n }, () => run(fn, arg)))

// Same pool interface as lib/contenders.mjs: { run, batch, close }.
const contenders = []
if (existsSync(DIST)) {
  const { remote, gather, Compute } = await import(DIST.href)
  const t = remote(fixture('tasks.mjs'))
  const call = (fn, arg) => (arg === undefined ? t[fn]() : t[fn](arg))
  contenders.push({ name: 'spindle', open: async () => {
    const compute = await Compute.start({ backend: 'process', workers: WORKERS })
    return {
      run: (fn, arg) => compute.run(call(fn, arg)),
      batch: (fn, arg, n) => compute.run(gather(...Array.from({ length: n }, () => call(fn, arg)))),
      close: () => compute.close(),
    }
  } })
} else {
  console.error('dist/index.js not found (run `npm run build`): measuring the baselines only')
}
contenders.push(
  { name: 'tinypool', open: async () => {
    const pool = new Tinypool({ filename: fixture('tinypool-worker.mjs').href, runtime: 'child_process',
      minThreads: WORKERS, maxThreads: WORKERS })
    const run = (fn, arg) => pool.run({ fn, arg })
    return { run, batch: batchOfRuns(run), close: () => pool.destroy() }
  } },
  { name: 'raw-fork', open: async () => {
    const pool = new RawForkPool(WORKERS)
    const run = (fn, arg) => pool.run(fn, arg)
    return { run, batch: batchOfRuns(run), close: () => pool.close() }
  } },
)
const errors = {}

// One round for one contender: a fresh, warmed pool (process start-up is not measured);
// the no-op burst, then the CPU tasks; close.
async function measure(c) {
  return onPool(c.name, errors, TIMEOUT_MS, () => openWarm(c, WORKERS), async (pool) => {
    let start = nowMs()
    const noops = await withTimeout(pool.batch('noop', undefined, NOOPS), TIMEOUT_MS, `${c.name}: ${NOOPS} no-ops`)
    const noopMs = nowMs() - start
    if (!Array.isArray(noops) || noops.length !== NOOPS) {
      throw new Error(`${c.name}: batch of ${NOOPS} returned ${Array.isArray(noops) ? noops.length + ' results' : typeof noops}`)
    }
    start = nowMs()
    const spins = await withTimeout(pool.batch('spin', SPIN_MS, SPINS), TIMEOUT_MS, `${c.name}: ${SPINS} spins`)
    const spinMs = nowMs() - start
    if (!Array.isArray(spins) || spins.length !== SPINS || spins.some((r) => r !== SPIN_MS)) {
      throw new Error(`${c.name}: unexpected results ${JSON.stringify(spins)?.slice(0, 200)}`)
    }
    return { tps: NOOPS / (noopMs / 1000), wallMs: spinMs }
  })
}

console.log(`process: ${WORKERS} processes, ${NOOPS} no-op tasks, ${SPINS} × spin(${SPIN_MS}), ${ROUNDS} rounds + 1 warm-up`)
const raw = await rounds(contenders, ROUNDS, measure)

const rows = contenders.map((c) => {
  const ok = raw[c.name].filter(Boolean)
  const wallMs = median(ok.map((r) => r.wallMs))
  return { name: c.name, tps: median(ok.map((r) => r.tps)), wallMs, efficiency: IDEAL_MS / (wallMs * WORKERS) }
})
const row = (name) => rows.find((r) => r.name === name) ?? {}

printTable(`(a) throughput, ${NOOPS} no-op tasks at once on ${WORKERS} processes (median tasks/s)`, rows,
  [{ key: 'tps', label: 'tasks/s', ratio: true }], 'raw-fork')
printTable(`(b) ${SPINS} × ${SPIN_MS} ms CPU tasks on ${WORKERS} processes (median of ${ROUNDS} rounds; ideal wall ${(IDEAL_MS / WORKERS).toFixed(0)} ms)`,
  rows, [
    { key: 'wallMs', label: 'wall ms' },
    { key: 'efficiency', label: 'efficiency', fmt: (v) => v.toFixed(3), ratio: true },
  ], 'raw-fork')

const spindle = row('spindle')
console.log('\nbars')
const bars = [
  bar('spindle process throughput vs tinypool child_process', spindle.tps / row('tinypool').tps, '>=', 2),
  bar('spindle process throughput vs raw-fork', spindle.tps / row('raw-fork').tps, '>=', 0.5),
]
if (WORKERS === 2) bars.push(bar('spindle process parallel efficiency, 2 workers', spindle.efficiency, '>=', 0.95, ''))
else console.log(`(the 0.95 efficiency bar is set for 2 workers; with ${WORKERS} compare spindle to raw-fork above)`)
for (const [name, err] of Object.entries(errors)) console.log(`ERROR ${name}: ${err.split('\n')[0]}`)

writeResult('process', { noops: NOOPS, spins: SPINS, spinMs: SPIN_MS, rounds: ROUNDS, summary: rows, perRound: raw, bars, errors })
if (Object.keys(errors).length > 0) process.exitCode = 1
expectExit()
