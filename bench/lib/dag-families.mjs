// Step graphs for the scheduling bench: the shapes the scheduling literature measures list
// schedulers on, each with a duration per step. Every generator takes a seeded PRNG, so a run is
// reproducible, and returns { steps: [{ name, deps, duration }] } in definition order.

/** mulberry32: small, fast, and good enough to draw graph shapes and durations. */
export function prng(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const between = (random, lo, hi) => lo + random() * (hi - lo)
const int = (random, lo, hi) => Math.floor(between(random, lo, hi + 1))
/** `base` ± `spread` (a fraction): the same kind of step never takes exactly the same time. */
const jitter = (random, base, spread = 0.2) => base * between(random, 1 - spread, 1 + spread)

/** Embarrassingly parallel: 200 steps of 1..10. */
function independent(random) {
  return { steps: Array.from({ length: 200 }, (_, i) => ({ name: `t${i}`, deps: [], duration: between(random, 1, 10) })) }
}

/** 50 steps in a line: any work-conserving schedule is optimal. */
function chain(random) {
  return { steps: Array.from({ length: 50 }, (_, i) => ({ name: `c${i}`, deps: i === 0 ? [] : [`c${i - 1}`], duration: between(random, 1, 10) })) }
}

/** 6 stages of fork → 24 branches → join, each stage after the previous join. */
function forkJoin(random) {
  const steps = []
  let previous = []
  for (let stage = 0; stage < 6; stage++) {
    steps.push({ name: `fork${stage}`, deps: previous, duration: jitter(random, 2) })
    const branches = Array.from({ length: 24 }, (_, b) => `s${stage}b${b}`)
    for (const name of branches) steps.push({ name, deps: [`fork${stage}`], duration: between(random, 5, 15) })
    steps.push({ name: `join${stage}`, deps: branches, duration: jitter(random, 2) })
    previous = [`join${stage}`]
  }
  return { steps }
}

/** 12 layers of 5..30 steps; each step depends on 1..3 steps of the layer above (sometimes two above). */
function randomLayered(random) {
  const steps = []
  const layers = []
  for (let l = 0; l < 12; l++) {
    const layer = Array.from({ length: int(random, 5, 30) }, (_, i) => `l${l}n${i}`)
    for (const name of layer) {
      const deps = new Set()
      if (l > 0) {
        for (let k = int(random, 1, 3); k > 0; k--) {
          const from = l > 1 && random() < 0.2 ? layers[l - 2] : layers[l - 1]
          deps.add(from[int(random, 0, from.length - 1)])
        }
      }
      steps.push({ name, deps: [...deps], duration: between(random, 1, 20) })
    }
    layers.push(layer)
  }
  return { steps }
}

/**
 * Gaussian elimination on an n × n matrix, column-oriented (Topcuoglu et al., HEFT): at step k a
 * pivot task, then one update task per remaining column; (n² + n − 2) / 2 tasks. Costs shrink with
 * the remaining matrix, so the critical path (the pivots) is heavy early and the width falls off.
 */
function gaussianElimination(random, n = 12) {
  const steps = []
  for (let k = 1; k < n; k++) {
    const size = n - k + 1
    steps.push({ name: `pivot${k}`, deps: k > 1 ? [`update${k - 1}_${k}`] : [], duration: jitter(random, size) })
    for (let j = k + 1; j <= n; j++) {
      const deps = [`pivot${k}`]
      if (k > 1) deps.push(`update${k - 1}_${j}`)
      steps.push({ name: `update${k}_${j}`, deps, duration: jitter(random, 2 * size) })
    }
  }
  return { steps }
}

/**
 * FFT on 2^k points: a binary tree of recursive calls (2·2^k − 1 tasks, the root first) down to the
 * 2^k leaves, then k butterfly levels; butterfly (l, i) needs (l − 1, i) and (l − 1, i xor 2^(l−1)).
 */
function fft(random, k = 5) {
  const points = 2 ** k
  const steps = []
  // Heap numbering: node 1 is the root, node v's children are 2v and 2v + 1, leaves are points..2·points − 1.
  for (let v = 1; v < 2 * points; v++) {
    steps.push({ name: `call${v}`, deps: v === 1 ? [] : [`call${v >> 1}`], duration: jitter(random, 1) })
  }
  const level = (l, i) => (l === 0 ? `call${points + i}` : `fly${l}_${i}`)
  for (let l = 1; l <= k; l++) {
    for (let i = 0; i < points; i++) {
      steps.push({ name: level(l, i), deps: [level(l - 1, i), level(l - 1, i ^ (1 << (l - 1)))], duration: jitter(random, 2) })
    }
  }
  return { steps }
}

/**
 * The trap for a FIFO ready queue: a chain of 40 steps of ~10 beside 400 independent steps of
 * ~5. FIFO queues each chain step behind the short steps still waiting; the critical path goes
 * first under bottom-level priority, and the short steps fill the other workers around it.
 */
function chainTrap(random) {
  const steps = []
  for (let i = 0; i < 40; i++) steps.push({ name: `chain${i}`, deps: i === 0 ? [] : [`chain${i - 1}`], duration: jitter(random, 10, 0.1) })
  for (let i = 0; i < 400; i++) steps.push({ name: `short${i}`, deps: [], duration: jitter(random, 5, 0.2) })
  return { steps }
}

/**
 * Epigenomics-like (Pegasus workflow gallery): 3..5 lanes; each lane splits its reads
 * (fastqSplit) into 8..16 chunks, each chunk runs filterContams → sol2sanger → fastq2bfq → map
 * (the heavy, variable step), the lane merges its chunks (mapMerge); then all lanes fan in:
 * mapMerge → maqIndex → pileup.
 */
function epigenomics(random) {
  const steps = []
  const lanes = []
  for (let lane = 0, count = int(random, 3, 5); lane < count; lane++) {
    const split = `split${lane}`
    steps.push({ name: split, deps: [], duration: jitter(random, 30, 0.3) })
    const maps = []
    for (let c = 0, chunks = int(random, 8, 16); c < chunks; c++) {
      const chunk = `${lane}.${c}`
      steps.push({ name: `filter${chunk}`, deps: [split], duration: jitter(random, 2) })
      steps.push({ name: `sanger${chunk}`, deps: [`filter${chunk}`], duration: jitter(random, 1) })
      steps.push({ name: `bfq${chunk}`, deps: [`sanger${chunk}`], duration: jitter(random, 3) })
      steps.push({ name: `map${chunk}`, deps: [`bfq${chunk}`], duration: between(random, 40, 200) })
      maps.push(`map${chunk}`)
    }
    steps.push({ name: `merge${lane}`, deps: maps, duration: jitter(random, 10) })
    lanes.push(`merge${lane}`)
  }
  steps.push({ name: 'mergeAll', deps: lanes, duration: jitter(random, 20) })
  steps.push({ name: 'maqIndex', deps: ['mergeAll'], duration: jitter(random, 40) })
  steps.push({ name: 'pileup', deps: ['maqIndex'], duration: jitter(random, 60) })
  return { steps }
}

/** Every family, in the order the bench prints them. */
export const FAMILIES = [
  { name: 'independent', make: independent },
  { name: 'chain', make: chain },
  { name: 'fork-join', make: forkJoin },
  { name: 'random layered', make: randomLayered },
  { name: 'gaussian elim n=12', make: (random) => gaussianElimination(random, 12) },
  { name: 'fft 2^5', make: (random) => fft(random, 5) },
  { name: 'chain trap', make: chainTrap },
  { name: 'epigenomics', make: epigenomics },
]

/** A generated family as a StepGraph (the class is passed in: the bench loads it from dist/). */
export function toGraph(StepGraph, { steps }) {
  const graph = new StepGraph()
  const durations = new Map()
  for (const { name, deps, duration } of steps) {
    graph.add(name, { deps })
    durations.set(name, duration)
  }
  return { graph, duration: (name) => durations.get(name) }
}
