// parallelMap: how close to a plain loop does spindle's parallelMap come, items on workers, and
// does it beat mapping by hand with Piscina? Each case with the same contenders:
//
//   loop                 a for loop on the main thread (push fn(x); for a Float64Array, a loop
//                        writing into a new Float64Array)
//   spindle parallelMap  parallelMap(items, t.fn, { compute }), chunkSize 'auto': every item on the workers
//   spindle callerRuns   the same with { callerRuns: true }: the calling thread may keep cheap items (cases 1, 4)
//   piscina, tinypool,   hand-chunked: slice() into chunks, one task per chunk mapping it
//   workerpool,          (fixtures/map-tasks.mjs *Chunk), results joined in order; chunk sizes
//   raw-thread           n/(4N), n/N and 1000 are all measured, the best one per library shown
//   piscina one task     (case 3 only) Promise.all(items.map(x => pool.run(x))), in 2 rounds
//   per item
//
//   1. 1,000,000 tiny items, Math.sqrt(x) * 2        bars: spindle ≤ 2 × the loop; callerRuns ≤ 1.2 × the loop
//   2. 20,000 items of ~50 µs CPU (work50)           bars: speedup over the loop ≥ 1.9 on 2 workers
//                                                    (≥ 13 on 16); spindle ≤ 1.02 × best hand-chunked piscina
//   3. 200,000 tiny items                            bar: spindle ≥ 50 × faster than piscina per item
//   4. 1,000,000-element Float64Array, sqrt2         bars: spindle ≤ 2 × the loop; callerRuns ≤ 1.2 × the loop
//   5. 8 items of 200 ms (a sleep: no core used)     bar: spindle ≤ 1.05 × the ideal 8 × 200 ms / N
//
// Every output is checked against the loop's (same values, same order, same kind of array):
// a mismatch is an error of that contender. Times are medians over rounds, pools fresh and
// warmed each round (a burst of no-ops, a short CPU task per worker, a map of up to 100,000 of the items).
//
// Usage: node bench/parallel-map.mjs   (SPINDLE_BENCH_WORKERS, SPINDLE_BENCH_ROUNDS, SPINDLE_BENCH_CASES=tiny,f64,...)
import {
  WORKERS, roundsFromEnv, rounds, median, nowMs, withTimeout, printTable, bar, writeResult, expectExit,
} from './lib/harness.mjs'
import { spindleMapContender, chunkedContenders, naivePiscina, chunkSizes } from './lib/map-contenders.mjs'
import { sleepMs, sqrt2, work50 } from './fixtures/map-tasks.mjs'

const ROUNDS = roundsFromEnv(5)
const NAIVE_ROUNDS = Math.min(2, ROUNDS) // piscina one task per item takes seconds a round
const WARM_ITEMS = 1_000
const WARM_MAX = 100_000
const TIMEOUT_MS = 60_000 // far above any sane figure: only a hang gets there

// One loop per function, so each call site stays monomorphic, as in a user's own loop.
function loopSqrt2(items) {
  const out = []
  for (let i = 0; i < items.length; i++) out.push(sqrt2(items[i]))
  return out
}
function loopWork50(items) {
  const out = []
  for (let i = 0; i < items.length; i++) out.push(work50(items[i]))
  return out
}
function loopSleep(items) {
  const out = []
  for (let i = 0; i < items.length; i++) out.push(sleepMs(items[i]))
  return out
}
function loopSqrt2F64(items) {
  const out = new Float64Array(items.length)
  for (let i = 0; i < items.length; i++) out[i] = sqrt2(items[i])
  return out
}

const plainArray = (n) => Array.from({ length: n }, (_, i) => i)
const float64Array = (n) => Float64Array.from({ length: n }, (_, i) => i)
const SQRT2 = { fn: 'sqrt2', chunkFn: 'sqrt2Chunk' }

// Each case's bars get { spindle, caller (callerRuns), loop, piscina (best hand-chunked), naive }: median ms.
const onWorkers = (t) => [
  bar('spindle time / loop time (items on workers)', t.spindle / t.loop, '<=', 2),
  bar('spindle callerRuns time / loop time', t.caller / t.loop, '<=', 1.2),
]
const CASES = [
  { id: 'tiny', n: 1_000_000, title: '1. 1,000,000 tiny items, Math.sqrt(x) * 2 (plain array)',
    make: plainArray, loop: loopSqrt2, op: SQRT2, callerRuns: true, bars: onWorkers },
  { id: 'work50', n: 20_000, title: '2. 20,000 items of ~50 µs CPU each (work50)',
    make: plainArray, loop: loopWork50, op: { fn: 'work50', chunkFn: 'work50Chunk' },
    bars: (t) => [
      ...speedupBar(t.loop / t.spindle),
      bar('spindle time / best hand-chunked piscina time', t.spindle / t.piscina, '<=', 1.02),
    ] },
  { id: 'naive', n: 200_000, title: '3. 200,000 tiny items: spindle vs piscina with one task per item',
    make: plainArray, loop: loopSqrt2, op: SQRT2, naive: true,
    bars: (t) => [bar('piscina one-task-per-item time / spindle time', t.naive / t.spindle, '>=', 50)] },
  { id: 'f64', n: 1_000_000, title: '4. 1,000,000-element Float64Array, sqrt2 elementwise',
    make: float64Array, loop: loopSqrt2F64, op: { fn: 'sqrt2', chunkFn: 'sqrt2ChunkF64' }, callerRuns: true, bars: onWorkers },
  { id: 'slow8', n: 8, title: '5. 8 items of 200 ms (sleeping, no core used)',
    make: (n) => Array(n).fill(200), loop: loopSleep, op: { fn: 'sleepMs', chunkFn: 'sleepMsChunk' }, only: ['piscina'],
    bars: (t) => [bar(`spindle time / ideal ${(8 * 200) / WORKERS} ms`, t.spindle / ((8 * 200) / WORKERS), '<=', 1.05)] },
]

/** The work50 speedup bar is set for 2 and 16 workers; with other N, compare with the anchors. */
function speedupBar(speedup) {
  const threshold = { 2: 1.9, 16: 13 }[WORKERS]
  if (threshold) return [bar(`spindle speedup over the loop, ${WORKERS} workers`, speedup, '>=', threshold)]
  console.log(`info  spindle speedup over the loop: ${speedup.toFixed(2)}× (bars set for 2 and 16 workers only)`)
  return []
}

/** Why `out` is not the loop's result `ref`, or null when it is. */
function mismatch(out, ref) {
  const kind = (v) => (v === null || v === undefined ? String(v) : v.constructor?.name ?? typeof v)
  if (kind(out) !== kind(ref)) return `returned ${kind(out)}, expected ${kind(ref)}`
  if (out.length !== ref.length) return `returned ${out.length} results, expected ${ref.length}`
  for (let i = 0; i < ref.length; i++) {
    if (!Object.is(out[i], ref[i])) return `result [${i}] is ${out[i]}, expected ${ref[i]}`
  }
  return null
}

const spindle = await spindleMapContender(WORKERS)
const spindleCaller = spindle && (await spindleMapContender(WORKERS, { name: 'spindle parallelMap callerRuns', lib: 'spindle callerRuns', options: { callerRuns: true } }))
const errors = {}

// One round for one contender: the loop, or a fresh warmed pool mapping all items, then closed.
async function measure(kase, items, ref, c, round) {
  const key = `${kase.id}: ${c.name}`
  if (errors[key]) return null // broken in an earlier round: do not pay its timeout again
  if (c.maxRounds && (round === 0 || round > c.maxRounds)) return null // measured rounds only, fewer
  try {
    let out, ms
    if (c.loop) {
      const start = nowMs()
      out = kase.loop(items)
      ms = nowMs() - start
    } else {
      const pool = await withTimeout(c.open(), TIMEOUT_MS, `${key}: start + warm-up`)
      try {
        // A map of up to 100,000 items of the same input first (1,000 for piscina one task per
        // item, which takes seconds): the workers' JIT has then compiled the per-item code, as in
        // any pool that has mapped before, without leaving a full-size result behind for the GC.
        const warmCount = c.lib === 'piscina naive' ? WARM_ITEMS : Math.min(items.length, WARM_MAX)
        const warmOut = await withTimeout(pool.map(items.slice(0, warmCount), kase.op), TIMEOUT_MS, `${key}: warm-up map`)
        const wrong = mismatch(warmOut, ref.slice(0, warmCount))
        if (wrong) throw new Error(`wrong results mapping ${warmCount} items: ${wrong}`)
        const start = nowMs()
        out = await withTimeout(pool.map(items, kase.op), TIMEOUT_MS, `${key}: map of ${items.length} items`)
        ms = nowMs() - start
      } finally {
        await withTimeout(pool.close(), TIMEOUT_MS, `${key}: close`)
      }
    }
    const wrong = mismatch(out, ref)
    if (wrong) throw new Error(`wrong results mapping ${items.length} items: ${wrong}`)
    return ms
  } catch (err) {
    errors[key] = err.stack ?? String(err)
    console.error(`\n${key} FAILED: ${errors[key]}`)
    return null
  }
}

async function runCase(kase) {
  const items = kase.make(kase.n)
  const ref = kase.loop(items)
  const contenders = [
    { name: 'loop', lib: 'loop', loop: true },
    ...(spindle ? [spindle] : []),
    ...(spindleCaller && kase.callerRuns ? [spindleCaller] : []),
    ...chunkedContenders(WORKERS, kase.n).filter((c) => !kase.only || kase.only.includes(c.lib)),
    ...(kase.naive ? [{ ...naivePiscina(WORKERS), maxRounds: NAIVE_ROUNDS }] : []),
  ]
  console.log(`\n${kase.title}`)
  const perRound = await rounds(contenders, ROUNDS, (c, round) => measure(kase, items, ref, c, round))

  const all = contenders.map((c) => {
    const ok = perRound[c.name].filter((v) => v !== null)
    return { name: c.name, lib: c.lib, chunk: c.chunk, ms: median(ok), rounds: ok.length }
  })
  const rows = [] // the best chunk size of each library; everything else as is
  for (const row of all) {
    const i = rows.findIndex((r) => r.lib === row.lib)
    if (i < 0) rows.push(row)
    else if (Number.isFinite(row.ms) && !(rows[i].ms <= row.ms)) rows[i] = row
  }
  const ms = (lib) => rows.find((r) => r.lib === lib)?.ms ?? NaN
  const sizes = chunkSizes(kase.n, WORKERS).map(([label, size]) => `${label} = ${size}`).join(', ')
  printTable(`${kase.title}: median ms of ${ROUNDS} rounds${kase.naive ? ` (one task per item: ${NAIVE_ROUNDS})` : ''};` +
    ` hand-chunked: best of chunk sizes ${sizes}`, rows, [{ key: 'ms', label: 'ms', ratio: true }], 'loop')

  const times = { spindle: ms('spindle'), caller: ms('spindle callerRuns'), loop: ms('loop'), piscina: ms('piscina'), naive: ms('piscina naive') }
  console.log('\nbars')
  const bars = kase.bars(times)
  if (kase.id !== 'work50' && kase.id !== 'slow8') {
    const ratio = times.spindle / times.piscina
    console.log(`info  spindle time / best hand-chunked piscina time: ${Number.isFinite(ratio) ? ratio.toFixed(3) + '×' : 'n/a'}`)
  }
  return { title: kase.title, items: kase.n, summary: rows, all, perRound, bars }
}

console.log(`parallel-map: ${WORKERS} workers, ${ROUNDS} rounds + 1 warm-up per case`)
const cases = {}
// SPINDLE_BENCH_CASES=f64,work50 runs only those cases.
const only = process.env.SPINDLE_BENCH_CASES?.split(',')
for (const kase of CASES) if (!only || only.includes(kase.id)) cases[kase.id] = await runCase(kase)

const allBars = Object.values(cases).flatMap((c) => c.bars)
console.log('\nsummary of bars')
for (const [id, c] of Object.entries(cases)) {
  for (const b of c.bars) {
    const shown = Number.isFinite(b.value) ? `${b.value.toFixed(3)}×` : 'n/a'
    console.log(`${b.verdict.padEnd(4)}  ${id}: ${b.label}: ${shown} (bar ${b.op} ${b.threshold}×)`)
  }
}
for (const [name, err] of Object.entries(errors)) console.log(`ERROR ${name}: ${err.split('\n')[0]}`)

writeResult('parallel-map', { rounds: ROUNDS, naiveRounds: NAIVE_ROUNDS, cases, bars: allBars, errors })
if (Object.keys(errors).length > 0) process.exitCode = 1
expectExit()
