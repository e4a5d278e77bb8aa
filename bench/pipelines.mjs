// Pipelines, for real: (1) does a real run finish when the virtual clock says it should, and
// (2) what does the executor itself cost per step?
//
// (1) Step graphs of several families (lib/dag-families.mjs, seed 1) become Pipelines of CPU-busy
//     steps (fixtures/pipeline-tasks.mjs: busy(ms, ...upstream outputs), so dependencies are inferred
//     from arguments), run on a warmed Compute of N threads with maxWorkers N. Durations are scaled
//     so the prediction is ~TARGET_MS. The prediction is simulate() with unit weights, because the
//     real executor has no recorded durations and ranks ready steps by bottom level counted in steps.
//     ratio = measured wall of p.run / predicted makespan; bar <= 1.10 per family.
// (2a) 10,000 stub steps and 10,000 no-op call steps, independent and as a random layered DAG, on
//     the inline backend: steps/s of p.run (the issue's "empty steps" bar: >= 100k steps/s).
// (2b) 10,000 independent no-op call steps on N threads: spindle against a p-graph-style FIFO
//     executor over piscina (concurrency N, one awaited pool.run per step); bar: spindle >= 3×.
//     Info: spindle with maxWorkers 32·N, which leaves the dispatcher a queue to batch calls from.
// (2c) A map step of 100,000 no-op items on the inline backend: items/s and the peak heap growth
//     during the run (sampled every 4,096 items); bar >= 50k items/s. Baseline: the same 100,000
//     calls as one compute.run(gather(...)) on an inline pool, the dispatcher alone.
// (2d) The run log's cost: 10,000 independent no-op call steps on the inline backend with the
//     default run log (in a temporary directory) and with `runLog: false`; raw baselines write
//     step-sized JSON records by hand: 1,000 as one atomic file each (temp, fsync, rename, fsync
//     of the directory: what durability per step costs), 10,000 appended 100 to a write + fdatasync.
//     Bar: >= 20k steps/s with the run log.
//
// Usage: npm run build && node bench/pipelines.mjs   (SPINDLE_BENCH_WORKERS, SPINDLE_BENCH_ROUNDS)
import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Piscina from 'piscina'
import { WORKERS, roundsFromEnv, rounds, median, nowMs, withTimeout, printTable, bar, writeResult, expectExit } from './lib/harness.mjs'
import { FAMILIES, prng, toGraph } from './lib/dag-families.mjs'
import { runFifo } from './lib/fifo-graph.mjs'

let spindle, StepGraph, simulate
try {
  spindle = await import('../dist/index.js')
  ;({ StepGraph } = await import('../dist/graph/step-graph.js'))
  ;({ simulate } = await import('./lib/simulate.mjs'))
} catch (error) {
  console.error(`pipelines: cannot load dist/ (run \`npm run build\` first): ${error.message}`)
  process.exit(1)
}
const { remote, gather, Compute, Pipeline, ParallelExecutor } = spindle
const t = remote(new URL('./fixtures/pipeline-tasks.mjs', import.meta.url))

const ROUNDS = roundsFromEnv(5)
const TARGET_MS = 600 // predicted makespan of each graph on N workers
const STEPS = 10_000
const TIMEOUT_MS = 60_000
const FAMILY_NAMES = ['fork-join', 'random layered', 'gaussian elim n=12', 'chain trap', 'epigenomics']
const errors = {}

/** Runs `fn`; a spindle error or hang is recorded under `label` (the script then exits 1) and yields null. */
async function guarded(label, fn) {
  if (errors[label]) return null
  try {
    return await fn()
  } catch (error) {
    errors[label] = error.stack ?? String(error)
    console.error(`\n${label} FAILED: ${errors[label]}`)
    return null
  }
}

/** A Compute of N threads with every worker up and the task module loaded everywhere. */
async function warmCompute() {
  const compute = await Compute.start({ workers: WORKERS })
  for (let i = 0; i < 3; i++) await compute.broadcast(t.busy(1))
  await compute.run(gather(...Array.from({ length: 200 }, () => t.noop())))
  return compute
}

/** p.run under a deadline; a run that does not succeed is an error (its first failed step's). */
async function runOrThrow(p, executor, label, runLog = false) {
  const start = nowMs()
  const run = await withTimeout(p.run({ executor, runLog }), TIMEOUT_MS, label)
  const wallMs = nowMs() - start
  if (run.status !== 'succeeded') {
    const bad = run.steps.find((s) => s.status === 'failed') ?? run.steps.find((s) => s.status !== 'succeeded')
    throw new Error(`${label}: run ${run.status}; step ${bad?.name} ${bad?.status}`, { cause: bad?.error })
  }
  return { run, wallMs }
}

// ---- (1) real runs against the virtual clock ----
const families = FAMILY_NAMES.map((name) => {
  const { steps } = FAMILIES.find((f) => f.name === name).make(prng(1))
  const { graph, duration } = toGraph(StepGraph, { steps })
  const units = simulate(graph, { workers: WORKERS, policy: 'bottom-level', duration, weight: () => 1 })
  const scale = TARGET_MS / units.makespan // ms per duration unit
  const ms = (step) => duration(step) * scale
  const sim = simulate(graph, { workers: WORKERS, policy: 'bottom-level', duration: ms, weight: () => 1 })
  const depth = new Map() // what busy() returns per step: 1 + the depth of its deepest input
  for (const s of steps) depth.set(s.name, 1 + Math.max(0, ...s.deps.map((d) => depth.get(d))))
  return { name, steps, ms, depth, predictedMs: sim.makespan, lowerBoundMs: sim.lowerBound,
    minStepMs: Math.min(...steps.map((s) => ms(s.name))) }
})

/** The family's graph as a Pipeline: each step busy for its scaled duration, upstream outputs as arguments. */
function familyPipeline(family) {
  const p = new Pipeline(family.name)
  const handles = new Map()
  for (const s of family.steps) {
    const inputs = s.deps.map((d) => handles.get(d))
    if (inputs.includes(undefined)) throw new Error(`${family.name}: ${s.name} depends on a step defined after it`)
    handles.set(s.name, p.step(s.name, t.busy(family.ms(s.name), ...inputs)))
  }
  return { p, handles }
}

async function runFamily(family, compute) {
  const { p, handles } = familyPipeline(family)
  const executor = new ParallelExecutor({ maxWorkers: WORKERS, backend: compute })
  const { run, wallMs } = await runOrThrow(p, executor, family.name)
  for (const [name, handle] of handles) {
    if (run.output(handle) !== family.depth.get(name)) throw new Error(`${family.name}: step ${name} returned ${run.output(handle)}, expected ${family.depth.get(name)}`)
  }
  return { wallMs, recordMs: run.endedAt - run.startedAt }
}

console.log(`pipelines: ${WORKERS} workers, ${ROUNDS} rounds + 1 warm-up`)
console.log(`(1) ${families.length} families, durations scaled to a predicted ~${TARGET_MS} ms each`)
// One fresh, warmed pool per round (opened by the round's first family); families in a shuffled order.
let pool = { round: -1, compute: null }
const familyRuns = await rounds(families, ROUNDS, async (f, r) => {
  if (pool.round !== r) {
    if (pool.compute) await guarded('spindle close', () => withTimeout(pool.compute.close(), TIMEOUT_MS, 'close'))
    pool = { round: r, compute: await guarded('spindle start', warmCompute) }
  }
  return pool.compute && guarded(f.name, () => runFamily(f, pool.compute))
})
if (pool.compute) await guarded('spindle close', () => withTimeout(pool.compute.close(), TIMEOUT_MS, 'close'))
const familyRows = families.map((f) => {
  const runs = familyRuns[f.name].filter(Boolean)
  const measuredMs = median(runs.map((x) => x.wallMs))
  return {
    name: f.name, steps: f.steps.length, minStepMs: f.minStepMs, lowerBoundMs: f.lowerBoundMs, predictedMs: f.predictedMs,
    measuredMs, recordMs: median(runs.map((x) => x.recordMs)), ratio: median(runs.map((x) => x.wallMs / f.predictedMs)),
    // What each step cost beyond its own work, if the excess were spread evenly over the workers.
    overheadUs: ((measuredMs - f.predictedMs) * WORKERS * 1000) / f.steps.length, perRound: runs,
  }
})
printTable(`(1) measured makespan / simulate(bottom-level, unit weights), ${WORKERS} workers (median of ${ROUNDS} rounds)`, familyRows, [
  { key: 'steps', label: 'steps', fmt: String },
  { key: 'minStepMs', label: 'shortest step ms', fmt: (v) => v.toFixed(2) },
  { key: 'lowerBoundMs', label: 'lower bound ms' },
  { key: 'predictedMs', label: 'predicted ms' },
  { key: 'measuredMs', label: 'measured ms' },
  { key: 'recordMs', label: 'run record ms' },
  { key: 'ratio', label: 'measured / predicted', fmt: (v) => v.toFixed(3) },
  { key: 'overheadUs', label: 'excess µs per step' },
])

// ---- (2a) executor overhead on the inline backend ----
// A random layered DAG: 100 layers of 100 steps, each after 1..3 steps of the layer above.
const LAYER = 100
const layered = (() => {
  const random = prng(11)
  return Array.from({ length: STEPS }, (_, i) => {
    if (i < LAYER) return []
    const above = i - (i % LAYER) - LAYER
    return [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => above + Math.floor(random() * LAYER)))]
  })
})()
const independent = Array.from({ length: STEPS }, () => [])

/** 10,000 steps of one kind ('stub' or 'noop' calls) over `deps`; dependencies by `after`. */
function emptySteps(kind, deps) {
  const p = new Pipeline(`${STEPS} ${kind}`)
  const handles = []
  for (let i = 0; i < deps.length; i++) {
    const options = deps[i].length === 0 ? {} : { after: deps[i].map((d) => handles[d]) }
    handles.push(kind === 'stub' ? p.stub(`s${i}`, options) : p.step(`s${i}`, t.noop(), options))
  }
  return p
}

async function measureSteps(label, kind, deps, executor, runLog = false) {
  const buildStart = nowMs()
  const p = emptySteps(kind, deps)
  const buildMs = nowMs() - buildStart
  const { run, wallMs } = await runOrThrow(p, executor(), label, runLog)
  if (run.steps.length !== STEPS) throw new Error(`${label}: ${run.steps.length} step records, expected ${STEPS}`)
  return { stepsPerS: (STEPS / wallMs) * 1000, buildPerS: (STEPS / buildMs) * 1000 }
}

const inlineExecutor = () => new ParallelExecutor({ backend: 'inline' })
const inlineCases = [
  { name: 'stub, independent', kind: 'stub', deps: independent },
  { name: 'stub, layered DAG', kind: 'stub', deps: layered },
  { name: 'no-op call, independent', kind: 'noop', deps: independent },
  { name: 'no-op call, layered DAG', kind: 'noop', deps: layered },
]
console.log(`\n(2a) ${STEPS.toLocaleString('en-US')} empty steps on the inline backend (maxWorkers ${inlineExecutor().maxWorkers}, the default)`)
const inlineRaw = await rounds(inlineCases, ROUNDS, (c) => guarded(`inline ${c.name}`, () => measureSteps(c.name, c.kind, c.deps, inlineExecutor)))
const inlineRows = inlineCases.map((c) => ({
  name: c.name,
  stepsPerS: median(inlineRaw[c.name].filter(Boolean).map((x) => x.stepsPerS)),
  buildPerS: median(inlineRaw[c.name].filter(Boolean).map((x) => x.buildPerS)),
}))
printTable(`(2a) inline backend: steps/s of p.run (median of ${ROUNDS} rounds; building the Pipeline is not timed)`, inlineRows, [
  { key: 'stepsPerS', label: 'steps/s' },
  { key: 'buildPerS', label: 'build steps/s (info)' },
])

// ---- (2b) on threads: spindle against a p-graph-style FIFO executor over piscina ----
const PISCINA = new URL('./fixtures/piscina-worker.mjs', import.meta.url).href
/** spindle on a fresh warmed pool; `maxWorkers` caps the steps in flight, hence how many calls a message can batch. */
const spindleThreads = (name, maxWorkers) => ({ name, measure: async () => {
  const compute = await warmCompute()
  try {
    return await measureSteps(name, 'noop', independent, () => new ParallelExecutor({ maxWorkers, backend: compute }))
  } finally {
    await withTimeout(compute.close(), TIMEOUT_MS, 'spindle close')
  }
} })
const threadContenders = [
  spindleThreads('spindle', WORKERS),
  // Info: more steps in flight than threads, so the dispatcher has a queue to batch from.
  spindleThreads(`spindle maxWorkers ${32 * WORKERS} (info)`, 32 * WORKERS),
  { name: 'piscina FIFO', measure: async () => {
    // Exactly N threads, piscina's defaults otherwise (as in the other benches); warmed like spindle.
    const pool = new Piscina({ filename: PISCINA, minThreads: WORKERS, maxThreads: WORKERS })
    try {
      await Promise.all(Array.from({ length: 200 }, () => pool.run({ fn: 'noop' })))
      await Promise.all(Array.from({ length: 2 * WORKERS }, () => pool.run({ fn: 'spin', arg: 1 })))
      const start = nowMs()
      await withTimeout(runFifo(independent, WORKERS, () => pool.run({ fn: 'noop' })), TIMEOUT_MS, 'piscina FIFO')
      return { stepsPerS: (STEPS / (nowMs() - start)) * 1000 }
    } finally {
      await pool.destroy()
    }
  } },
]
console.log(`\n(2b) ${STEPS.toLocaleString('en-US')} independent no-op call steps on ${WORKERS} threads`)
const threadRaw = await rounds(threadContenders, ROUNDS, (c) => guarded(`threads ${c.name}`, c.measure))
const threadRows = threadContenders.map((c) => ({ name: c.name, stepsPerS: median(threadRaw[c.name].filter(Boolean).map((x) => x.stepsPerS)) }))
printTable(`(2b) threads: steps/s (median of ${ROUNDS} rounds; maxWorkers / concurrency ${WORKERS} unless named)`, threadRows, [
  { key: 'stepsPerS', label: 'steps/s', ratio: true },
], 'piscina FIFO')

// ---- (2c) a map step of 100,000 no-op items on the inline backend ----
const MAP_ITEMS = 100_000
const mapItems = Array.from({ length: MAP_ITEMS }, (_, i) => i)
const heapMb = () => process.memoryUsage().heapUsed / 1e6
const mapContenders = [
  { name: 'map step', measure: async () => {
    const p = new Pipeline('wide map')
    p.map('each', mapItems, () => t.noop())
    const before = heapMb()
    let peak = before
    const onEvent = (e) => e.type === 'items' && (e.done & 4095) === 0 && (peak = Math.max(peak, heapMb()))
    const start = nowMs()
    const run = await withTimeout(p.run({ executor: inlineExecutor(), runLog: false, onEvent }), TIMEOUT_MS, 'map step')
    const wallMs = nowMs() - start
    if (run.status !== 'succeeded') throw new Error(`map step: run ${run.status}`, { cause: run.steps[0].error })
    return { itemsPerS: (MAP_ITEMS / wallMs) * 1000, peakHeapMb: Math.max(peak, heapMb()) - before }
  } },
  { name: 'compute.run(gather) (baseline)', measure: async () => {
    const compute = await Compute.start({ backend: 'inline' })
    try {
      const batch = gather(...mapItems.map(() => t.noop()))
      const start = nowMs()
      await withTimeout(compute.run(batch), TIMEOUT_MS, 'gather')
      return { itemsPerS: (MAP_ITEMS / (nowMs() - start)) * 1000 }
    } finally {
      await compute.close()
    }
  } },
]
console.log(`\n(2c) a map step of ${MAP_ITEMS.toLocaleString('en-US')} no-op items on the inline backend`)
const mapRaw = await rounds(mapContenders, ROUNDS, (c) => guarded(`inline ${c.name}`, c.measure))
const mapRows = mapContenders.map((c) => ({
  name: c.name,
  itemsPerS: median(mapRaw[c.name].filter(Boolean).map((x) => x.itemsPerS)),
  peakHeapMb: median(mapRaw[c.name].filter(Boolean).map((x) => x.peakHeapMb ?? NaN)),
}))
printTable(`(2c) inline backend: items/s (median of ${ROUNDS} rounds)`, mapRows, [
  { key: 'itemsPerS', label: 'items/s', ratio: true },
  { key: 'peakHeapMb', label: 'peak heap growth MB' },
], 'compute.run(gather) (baseline)')

// ---- (2d) the run log's cost, 10,000 no-op call steps on the inline backend ----
const logRoot = mkdtempSync(join(tmpdir(), 'spindle-bench-runlog-'))
/** A record the size of a no-op step's line in the journal. */
const record = (i) => `${JSON.stringify({ version: 2, name: `s${i}`, kind: 'call', status: 'succeeded', attempts: 1, output: true, startedAt: Date.now(), dispatchedAt: Date.now(), endedAt: Date.now(), outputHash: 'f'.repeat(64), inline: '/w9f' })}\n`
const rawRecords = (perFile) => {
  const dir = mkdtempSync(join(logRoot, 'raw-'))
  const start = nowMs()
  const records = perFile ? STEPS / 10 : STEPS // a thousand fsyncs already take seconds
  if (perFile) {
    for (let i = 0; i < records; i++) {
      const temp = join(dir, `.s${i}.tmp`)
      const fd = openSync(temp, 'wx')
      writeSync(fd, record(i))
      fsyncSync(fd)
      closeSync(fd)
      renameSync(temp, join(dir, `s${i}.json`))
      const d = openSync(dir, 'r')
      fsyncSync(d)
      closeSync(d)
    }
  } else {
    const fd = openSync(join(dir, 'steps.jsonl'), 'a')
    for (let i = 0; i < STEPS; i += 100) {
      let batch = ''
      for (let j = i; j < i + 100; j++) batch += record(j)
      writeSync(fd, batch)
      fdatasyncSync(fd)
    }
    closeSync(fd)
  }
  const stepsPerS = (records / (nowMs() - start)) * 1000
  rmSync(dir, { recursive: true, force: true })
  return { stepsPerS }
}
const logContenders = [
  { name: 'no-op call steps, run log', measure: () => measureSteps('run log', 'noop', independent, inlineExecutor, join(logRoot, 'runs')) },
  { name: 'no-op call steps, runLog: false', measure: () => measureSteps('no run log', 'noop', independent, inlineExecutor) },
  { name: 'raw: a file + fsync per record (1,000)', measure: () => rawRecords(true) },
  { name: 'raw: appended, fdatasync per 100', measure: () => rawRecords(false) },
]
console.log(`\n(2d) the run log: ${STEPS.toLocaleString('en-US')} independent no-op call steps on the inline backend`)
const logRaw = await rounds(logContenders, ROUNDS, (c) => guarded(`run log ${c.name}`, c.measure))
rmSync(logRoot, { recursive: true, force: true })
const logRows = logContenders.map((c) => ({ name: c.name, stepsPerS: median(logRaw[c.name].filter(Boolean).map((x) => x.stepsPerS)) }))
printTable(`(2d) steps (or records) per second (median of ${ROUNDS} rounds)`, logRows, [
  { key: 'stepsPerS', label: 'steps/s', ratio: true },
], 'no-op call steps, runLog: false')

console.log('\nbars')
const bars = []
for (const r of familyRows) bars.push(bar(`${r.name}: measured / predicted makespan`, r.ratio, '<=', 1.1))
for (const r of inlineRows) bars.push(bar(`inline ${r.name}, thousands of steps/s`, r.stepsPerS / 1000, '>=', 100, 'k'))
const [ours, , fifo] = threadRows
bars.push(bar('threads: spindle steps/s / piscina FIFO', ours.stepsPerS / fifo.stepsPerS, '>=', 3))
bars.push(bar(`inline map step of ${MAP_ITEMS.toLocaleString('en-US')} items, thousands of items/s`, mapRows[0].itemsPerS / 1000, '>=', 50, 'k'))
bars.push(bar(`inline, ${STEPS.toLocaleString('en-US')} no-op call steps with the run log, thousands of steps/s`, logRows[0].stepsPerS / 1000, '>=', 20, 'k'))
for (const [label, err] of Object.entries(errors)) console.log(`ERROR ${label}: ${err.split('\n')[0]}`)

writeResult('pipelines', {
  rounds: ROUNDS, targetMs: TARGET_MS, steps: STEPS,
  families: familyRows, inline: inlineRows, inlinePerRound: inlineRaw, threads: threadRows, threadsPerRound: threadRaw,
  map: mapRows, mapPerRound: mapRaw, runLog: logRows, runLogPerRound: logRaw, bars, errors,
})
if (Object.keys(errors).length > 0) process.exitCode = 1
expectExit()
