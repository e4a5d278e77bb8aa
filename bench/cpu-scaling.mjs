// CPU scaling: with real work, does the pool keep every worker busy? 64 tasks that each
// burn 20 ms of CPU run on N workers; the ideal wall time is 64 × 20 ms / N.
//
//   parallel efficiency = (64 × 20 ms) / (wall × N)        1.0 = perfect
//   speedup             = sequential wall / pool wall        sequential: the same 64 calls
//                                                            in a loop on the main thread
//
// spindle runs one gather() of 64 t.spin(20); the libraries 64 pool.run() + Promise.all;
// raw-thread-1 (one task in flight per worker) is the baseline. Bar: spindle >= 0.95 on
// 2 workers (on more cores the machine's own noise lowers every contender alike).
//
// Usage: node bench/cpu-scaling.mjs   (SPINDLE_BENCH_WORKERS, SPINDLE_BENCH_ROUNDS)
import {
  WORKERS, roundsFromEnv, rounds, median, nowMs, withTimeout, printTable, bar, writeResult, expectExit, onPool,
} from './lib/harness.mjs'
import { spindleContenders, anchorContenders, rawContenders, openWarm } from './lib/contenders.mjs'
import { spin } from './fixtures/tasks.mjs'

const TASKS = 64
const TASK_MS = 20
const ROUNDS = roundsFromEnv(3)
const TIMEOUT_MS = 60_000
const IDEAL_MS = TASKS * TASK_MS // total work, in CPU milliseconds

// The batch API only (spindle's run()×n variant measures dispatch, which dispatch.mjs covers);
// raw-thread-1 only (pipelining cannot help when every task is 20 ms).
const contenders = [
  ...(await spindleContenders(WORKERS)).filter((c) => !c.info),
  ...anchorContenders(WORKERS),
  ...rawContenders(WORKERS).filter((c) => c.name === 'raw-thread-1'),
  // Same work with no pool at all: the reference for speedup.
  { name: 'sequential', sequential: true },
]
const errors = {}

async function measure(c) {
  if (c.sequential) {
    const start = nowMs()
    for (let i = 0; i < TASKS; i++) spin(TASK_MS)
    return { wallMs: nowMs() - start }
  }
  return onPool(c.name, errors, TIMEOUT_MS, () => openWarm(c, WORKERS), async (pool) => {
    const start = nowMs()
    const results = await withTimeout(pool.batch('spin', TASK_MS, TASKS), TIMEOUT_MS, `${c.name}: ${TASKS} tasks`)
    const wallMs = nowMs() - start
    // Every task returns its ms argument: a cheap check that all of them really ran.
    if (!Array.isArray(results) || results.length !== TASKS || results.some((r) => r !== TASK_MS)) {
      throw new Error(`${c.name}: unexpected results ${JSON.stringify(results)?.slice(0, 200)}`)
    }
    return { wallMs }
  })
}

console.log(`cpu-scaling: ${WORKERS} workers, ${TASKS} × spin(${TASK_MS}) = ${IDEAL_MS} ms of CPU, ${ROUNDS} rounds + 1 warm-up`)
const raw = await rounds(contenders, ROUNDS, measure)

const seqMs = median(raw.sequential.map((r) => r.wallMs))
const rows = contenders.map((c) => {
  const wallMs = median(raw[c.name].filter(Boolean).map((r) => r.wallMs))
  const threads = c.sequential ? 1 : WORKERS
  return { name: c.name, wallMs, efficiency: IDEAL_MS / (wallMs * threads), speedup: seqMs / wallMs }
})

printTable(`${TASKS} × ${TASK_MS} ms CPU tasks on ${WORKERS} workers (median of ${ROUNDS} rounds; ideal wall ${(IDEAL_MS / WORKERS).toFixed(0)} ms)`,
  rows, [
    { key: 'wallMs', label: 'wall ms' },
    { key: 'efficiency', label: 'efficiency', fmt: (v) => v.toFixed(3), ratio: true },
    { key: 'speedup', label: 'speedup', fmt: (v) => v.toFixed(2) + '×' },
  ], 'raw-thread-1')

const spindle = rows.find((r) => r.name === 'spindle') ?? {}
console.log('\nbars')
const bars = []
if (WORKERS === 2) bars.push(bar('spindle parallel efficiency, 2 workers', spindle.efficiency, '>=', 0.95, ''))
else console.log(`(the 0.95 bar is set for 2 workers; with ${WORKERS} compare spindle to the anchors above)`)
for (const [name, err] of Object.entries(errors)) console.log(`ERROR ${name}: ${err.split('\n')[0]}`)

writeResult('cpu-scaling', { tasks: TASKS, taskMs: TASK_MS, rounds: ROUNDS, summary: rows, perRound: raw, bars, errors })
if (Object.keys(errors).length > 0) process.exitCode = 1
expectExit()
