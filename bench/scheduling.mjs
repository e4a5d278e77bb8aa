// Scheduling quality and cost of the Pipeline scheduler, on a virtual clock (no real work).
//
//   ratio = makespan / lower bound,   lower bound = max(critical path, total work / workers)
//
// For each DAG family (lib/dag-families.mjs) × workers ∈ {2, 4, 8, 16} × seeds, the same graph
// runs under bottom-level priority (bottom levels weighted by the durations, as after a first run
// recorded them), bottom-level with unit weights (info: a first run, nothing measured yet), and a
// FIFO ready queue (the baseline). That lower bound ignores that little can run at the start and
// the end of a deep graph, so a tighter one is computed too (`tightBound` below): where even it is
// more than 1.10× the plain bound, no schedule can reach 1.10 and that bar is reported as INFO.
// Every run is checked against Graham's bound for list schedules, makespan <= W/m + CP·(1 − 1/m);
// a violation would mean the scheduler idled a worker while a step was ready.
// Also measured: ListScheduler's own cost, a 10,000-step graph of zero-cost steps driven through
// next()/complete() as an 8-worker executor would.
//
// Usage: npm run build && node bench/scheduling.mjs   (SPINDLE_BENCH_ROUNDS = seeds, default 5)
import { roundsFromEnv, median, nowMs, printTable, bar, writeResult, expectExit } from './lib/harness.mjs'
import { FAMILIES, prng, toGraph } from './lib/dag-families.mjs'

let StepGraph, simulate, ListScheduler
try {
  ;({ StepGraph } = await import('../dist/graph/step-graph.js'))
  ;({ simulate } = await import('./lib/simulate.mjs'))
  ;({ ListScheduler } = await import('../dist/graph/list-scheduler.js'))
} catch (error) {
  console.error(`scheduling: cannot load dist/ (run \`npm run build\` first): ${error.message}`)
  process.exit(1)
}

const WORKER_COUNTS = [2, 4, 8, 16]
const SEEDS = roundsFromEnv(5)
const EPSILON = 1e-9
// ANCHORS.md, "Scheduling": bottom-level vs FIFO ratios measured elsewhere, printed beside ours.
const ANCHORS = [
  { family: 'gaussian elim n=12', workers: 4, bottom: 1.07, fifo: 1.4 },
  { family: 'chain trap', workers: 8, bottom: 1.01, fifo: 1.63 },
  { family: 'epigenomics', workers: 16, bottom: 1.23, fifo: 1.4 },
]

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
let runs = 0
const violations = []

/** One simulated run: its makespan, after checking Graham's bound. */
function run(graph, duration, workers, options, label) {
  const sim = simulate(graph, { workers, duration, ...options })
  const graham = sim.totalWork / workers + sim.criticalPath * (1 - 1 / workers)
  runs++
  if (sim.makespan > graham + EPSILON * graham) violations.push({ label, workers, makespan: sim.makespan, graham })
  return sim
}

/**
 * A lower bound that counts the ramp-up and the tail. Step v cannot start before its top level
 * tl(v) (longest path to it), so in [0, t) at most F(t) = min(m·t, Σ min(d(v), (t − tl(v))⁺)) work
 * can be done; likewise at most G(s) in the last s units, since v ends at least bl(v) − d(v) before
 * the end. Any schedule lasts T >= CP, so for all t + s <= CP: W <= F(t) + m·(T − t − s) + G(s), i.e.
 * T >= t + s + (W − F(t) − G(s)) / m. Maximised over the breakpoints of F and G (t = s = 0 is W/m).
 */
function tightBound(graph, duration, workers) {
  const order = graph.topologicalOrder()
  const top = new Map()
  for (const v of order) top.set(v, Math.max(0, ...graph.predecessors(v).map((p) => top.get(p) + duration(p))))
  const bottom = graph.bottomLevels(duration)
  const cp = graph.criticalPath(duration)
  const work = graph.totalWork(duration)
  const ramp = (offset) => {
    // Candidate lengths: where a step may start or end, relative to its earliest start (or latest end).
    const points = [...new Set([0, cp, ...order.flatMap((v) => [offset(v), offset(v) + duration(v)])])].filter((x) => x <= cp)
    return points.map((x) => {
      let done = 0
      for (const v of order) done += Math.min(duration(v), Math.max(0, x - offset(v)))
      return { x, done: Math.min(workers * x, done) }
    })
  }
  const heads = ramp((v) => top.get(v))
  const tails = ramp((v) => bottom.get(v) - duration(v))
  let best = Math.max(cp, work / workers)
  for (const h of heads) {
    for (const t of tails) {
      if (h.x + t.x <= cp) best = Math.max(best, h.x + t.x + (work - h.done - t.done) / workers)
    }
  }
  return best
}

console.log(`scheduling: ${FAMILIES.length} families × workers ${WORKER_COUNTS.join(', ')} × ${SEEDS} seeds (virtual clock)`)
const perCase = [] // one row per family × workers, means over seeds
for (const family of FAMILIES) {
  for (const workers of WORKER_COUNTS) {
    const ratios = { bottom: [], unit: [], fifo: [], tight: [], bottomTight: [] }
    let steps = 0
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { graph, duration } = toGraph(StepGraph, family.make(prng(seed)))
      steps = graph.size
      const label = `${family.name}, seed ${seed}`
      const bottom = run(graph, duration, workers, { policy: 'bottom-level' }, label)
      const unit = run(graph, duration, workers, { policy: 'bottom-level', weight: () => 1 }, label)
      const fifo = run(graph, duration, workers, { policy: 'fifo' }, label)
      const tight = tightBound(graph, duration, workers)
      if (bottom.makespan < tight * (1 - EPSILON)) throw new Error(`${label}: makespan below the tight bound: the bound is wrong`)
      ratios.bottom.push(bottom.makespan / bottom.lowerBound)
      ratios.unit.push(unit.makespan / unit.lowerBound)
      ratios.fifo.push(fifo.makespan / fifo.lowerBound)
      ratios.tight.push(tight / bottom.lowerBound)
      ratios.bottomTight.push(bottom.makespan / tight)
    }
    perCase.push({ family: family.name, workers, steps, ...Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, mean(v)])) })
  }
}

const ratioColumns = [
  { key: 'steps', label: 'steps', fmt: String },
  { key: 'bottom', label: 'bottom-level', fmt: (v) => v.toFixed(3) },
  { key: 'fifo', label: 'FIFO', fmt: (v) => v.toFixed(3) },
  { key: 'unit', label: 'bl, unit weights', fmt: (v) => v.toFixed(3) },
  { key: 'tight', label: 'tight bound', fmt: (v) => v.toFixed(3) },
  { key: 'bottomTight', label: 'bl / tight bound', fmt: (v) => v.toFixed(3) },
]
printTable(`makespan / lower bound, mean of ${SEEDS} seeds (contender = family ×workers; tight bound / lower bound; bottom-level / tight bound)`,
  perCase.map((r) => ({ ...r, name: `${r.family} ×${r.workers}` })), ratioColumns)

const perFamily = FAMILIES.map(({ name }) => {
  const rows = perCase.filter((r) => r.family === name)
  const avg = (key) => mean(rows.map((r) => r[key]))
  return { name, steps: rows[0].steps, ...Object.fromEntries(['bottom', 'fifo', 'unit', 'tight', 'bottomTight'].map((k) => [k, avg(k)])) }
})
printTable('per family, mean over workers 2, 4, 8, 16', perFamily, ratioColumns)

const anchorRows = ANCHORS.map((a) => {
  const ours = perCase.find((r) => r.family === a.family && r.workers === a.workers)
  return { name: `${a.family} ×${a.workers}`, bottom: ours.bottom, fifo: ours.fifo, anchorBottom: a.bottom, anchorFifo: a.fifo }
})
printTable('beside ANCHORS.md', anchorRows, [
  { key: 'bottom', label: 'bottom-level', fmt: (v) => v.toFixed(2) },
  { key: 'fifo', label: 'FIFO', fmt: (v) => v.toFixed(2) },
  { key: 'anchorBottom', label: 'anchor bottom-level', fmt: (v) => v.toFixed(2) },
  { key: 'anchorFifo', label: 'anchor FIFO', fmt: (v) => v.toFixed(2) },
])

// ListScheduler's own cost: 10,000 zero-cost steps, each depending on 1..3 of the 50 before it.
function bigGraph() {
  const random = prng(7)
  const graph = new StepGraph()
  for (let i = 0; i < 10_000; i++) {
    const deps = new Set()
    for (let k = i === 0 ? 0 : 1 + Math.floor(random() * 3); k > 0; k--) deps.add(`s${Math.max(0, i - 1 - Math.floor(random() * 50))}`)
    graph.add(`s${i}`, { deps: [...deps] })
  }
  graph.validate()
  return graph
}

/** next()/complete() as an executor with 8 workers drives them: the oldest running step completes first. */
function drive(graph, policy) {
  const scheduler = new ListScheduler(graph, { policy })
  const running = []
  let head = 0
  while (!scheduler.done) {
    while (running.length - head < 8) {
      const name = scheduler.next()
      if (name === undefined) break
      running.push(name)
    }
    scheduler.complete(running[head++])
  }
  return head
}

const throughput = {}
{
  const builds = []
  for (let r = 0; r < 7; r++) {
    const start = nowMs()
    bigGraph()
    builds.push(nowMs() - start)
  }
  const graph = bigGraph()
  throughput.build = (10_000 / median(builds.slice(2))) * 1000 // the first builds warm the JIT
  for (const policy of ['bottom-level', 'fifo']) {
    const times = []
    for (let r = 0; r < 25; r++) {
      const start = nowMs()
      if (drive(graph, policy) !== 10_000) throw new Error(`${policy}: not every step ran`)
      times.push(nowMs() - start)
    }
    throughput[policy] = (10_000 / median(times.slice(5))) * 1000
    throughput[`${policy} first run`] = (10_000 / times[0]) * 1000
  }
}
printTable('ListScheduler cost: 10,000 zero-cost steps (median of 20 runs after 5 warm-ups)', [
  { name: 'bottom-level: new + next/complete', stepsPerS: throughput['bottom-level'], first: throughput['bottom-level first run'] },
  { name: 'fifo: new + next/complete', stepsPerS: throughput.fifo, first: throughput['fifo first run'] },
  { name: 'StepGraph: add × 10,000 + validate', stepsPerS: throughput.build },
], [
  { key: 'stepsPerS', label: 'steps/s' },
  { key: 'first', label: 'first run (cold JIT)' },
])

console.log('\nbars')
const bars = [bar(`Graham's bound violations over ${runs} runs`, violations.length, '<=', 0, '')]
for (const v of violations.slice(0, 5)) console.log(`  violation: ${JSON.stringify(v)}`)
for (const f of perFamily) {
  if (f.tight > 1.1) {
    console.log(`INFO  ${f.name}: bottom-level mean ratio ${f.bottom.toFixed(3)}× (bar <= 1.1× unreachable: no schedule beats ${f.tight.toFixed(3)}×; ${f.bottomTight.toFixed(3)}× the tight bound)`)
  } else bars.push(bar(`${f.name}: bottom-level mean ratio`, f.bottom, '<=', 1.1))
}
for (const f of perFamily) bars.push(bar(`${f.name}: bottom-level / FIFO (mean ratios)`, f.bottom / f.fifo, '<=', 1))
const trap = perCase.find((r) => r.family === 'chain trap' && r.workers === 8)
bars.push(bar('chain trap, 8 workers: bottom-level mean ratio', trap.bottom, '<=', 1.05))
bars.push(bar('ListScheduler bottom-level, millions of steps/s (10× the executor bar of 100k)', throughput['bottom-level'] / 1e6, '>=', 1, 'M'))

writeResult('scheduling', {
  seeds: SEEDS, workerCounts: WORKER_COUNTS,
  perCase, perFamily, anchors: anchorRows, throughput, runs, violations, bars,
})
expectExit()
