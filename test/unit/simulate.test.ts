// The ListScheduler on a virtual clock (bench/lib/simulate.mjs, which runs the built dist/):
// hand-checked schedules, and properties on random DAGs.
import { describe, it, expect } from 'vitest'
import { StepGraph, type StepOptions } from '../../dist/graph/step-graph.js'
import { SpindleError } from '../../dist/errors.js'
import { simulate, type Simulation } from '../../bench/lib/simulate.mjs'
import { caught, prng } from '../helpers/testing.js'

function graphOf(steps: Record<string, StepOptions>): StepGraph {
  const graph = new StepGraph()
  for (const [name, options] of Object.entries(steps)) graph.add(name, options)
  return graph
}

describe('simulate', () => {
  it('runs a hand-checked schedule', () => {
    const durations: Record<string, number> = { load: 1, featA: 5, featB: 2, train: 10, report: 1 }
    const graph = graphOf({ load: {}, featA: { deps: ['load'] }, featB: { deps: ['load'] }, train: { deps: ['featA', 'featB'] }, report: { deps: ['train'] } })
    const sim = simulate(graph, { workers: 2, duration: (n) => durations[n]! })
    expect(Object.fromEntries(sim.starts)).toEqual({
      load: { start: 0, end: 1, worker: 0 },
      featA: { start: 1, end: 6, worker: 0 },
      featB: { start: 1, end: 3, worker: 1 },
      train: { start: 6, end: 16, worker: 0 },
      report: { start: 16, end: 17, worker: 0 },
    })
    expect(sim.makespan).toBe(17)
    expect(sim.lowerBound).toBe(17)
    expect(sim.totalWork).toBe(19)
  })

  it('checks its options', () => {
    const graph = graphOf({ a: {} })
    expect(caught(() => simulate(graph, { workers: 0, duration: () => 1 }), SpindleError).message).toBe(
      'Expected `workers` to be an integer >= 1, got `0` (number)',
    )
    expect(caught(() => simulate(graph, { workers: 1, duration: () => -1 }), SpindleError).message).toBe(
      'Expected `duration` of step "a" to be a finite number >= 0, got `-1` (number)',
    )
  })

  it('beats FIFO on the long-chain trap: the chain starts first, the short steps fill the other workers', () => {
    const graph = new StepGraph()
    for (let i = 0; i < 300; i++) graph.add(`short${i}`)
    for (let i = 0; i < 20; i++) graph.add(`chain${i}`, { deps: i === 0 ? [] : [`chain${i - 1}`] })
    const duration = (n: string): number => (n.startsWith('chain') ? 10 : 2)
    const bottom = simulate(graph, { workers: 4, policy: 'bottom-level', duration })
    const fifo = simulate(graph, { workers: 4, policy: 'fifo', duration })
    expect(bottom.lowerBound).toBe(200)
    expect(bottom.makespan).toBe(200) // optimal: 300 × 2 units of short steps on 3 workers, beside the chain's 200
    expect(fifo.makespan).toBeGreaterThan(1.5 * bottom.makespan)
  })

  /** A random DAG defined in a shuffled order (so dependencies are often defined later). */
  function randomDag(random: () => number): { graph: StepGraph; durations: Map<string, number> } {
    const n = 1 + Math.floor(random() * 60)
    const density = random() * 0.3
    const rank = Array.from({ length: n }, (_, i) => i).sort(() => random() - 0.5)
    const graph = new StepGraph()
    const durations = new Map<string, number>()
    for (const i of rank) {
      const deps: string[] = []
      for (let j = 0; j < i; j++) if (random() < density) deps.push(`s${j}`)
      graph.add(`s${i}`, { deps })
      const r = random()
      durations.set(`s${i}`, r < 0.1 ? 0 : r < 0.5 ? 1 + Math.floor(random() * 5) : random() * 20)
    }
    return { graph, durations }
  }

  function checkSchedule(graph: StepGraph, durations: Map<string, number>, workers: number, sim: Simulation, where: string): void {
    const fail = (what: string): never => expect.fail(`${where}: ${what}`)
    if (sim.starts.size !== graph.size) fail(`${sim.starts.size} of ${graph.size} steps ran`)
    const readyAt = new Map<string, number>()
    for (const [name, run] of sim.starts) {
      if (run.end !== run.start + durations.get(name)!) fail(`${name} ran ${run.end - run.start}`)
      if (run.worker < 0 || run.worker >= workers) fail(`${name} on worker ${run.worker}`)
      let ready = 0
      for (const dep of graph.predecessors(name)) {
        const before = sim.starts.get(dep)!
        if (run.start < before.end) fail(`${name} started at ${run.start}, before ${dep} ended at ${before.end}`)
        ready = Math.max(ready, before.end)
      }
      readyAt.set(name, ready)
    }
    // One step at a time per worker, so never more than `workers` at once.
    const byWorker = [...sim.starts.values()].sort((a, b) => a.worker - b.worker || a.start - b.start || a.end - b.end)
    for (let k = 1; k < byWorker.length; k++) {
      const [a, b] = [byWorker[k - 1]!, byWorker[k]!]
      if (a.worker === b.worker && b.start < a.end) fail(`worker ${a.worker} runs two steps at ${b.start}`)
    }
    // Work-conserving: idle capacity only appears at 0 or when a step ends, so check those instants.
    const instants = new Set([0, ...[...sim.starts.values()].map((r) => r.end)])
    for (const t of instants) {
      const running = [...sim.starts.values()].filter((r) => r.start <= t && t < r.end).length
      if (running > workers) fail(`${running} steps running at ${t}`)
      const waiting = [...sim.starts].filter(([name, r]) => readyAt.get(name)! <= t && t < r.start)
      if (waiting.length > 0 && running < workers) fail(`${waiting[0]![0]} waits at ${t} while only ${running} of ${workers} workers run`)
    }
    const graham = sim.totalWork / workers + sim.criticalPath * (1 - 1 / workers)
    if (sim.makespan > graham + 1e-9 * Math.max(1, graham)) fail(`makespan ${sim.makespan} > Graham's bound ${graham}`)
    if (sim.makespan < sim.lowerBound - 1e-9 * Math.max(1, sim.lowerBound)) fail(`makespan ${sim.makespan} < lower bound ${sim.lowerBound}`)
  }

  it('respects dependencies, the worker limit, work conservation and Graham’s bound on 1,500 random DAGs', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const random = prng(seed)
      const { graph, durations } = randomDag(random)
      const workers = 1 + Math.floor(random() * 8)
      const duration = (n: string): number => durations.get(n)!
      for (const [label, options] of [
        ['bottom-level', { policy: 'bottom-level' }],
        ['bottom-level, unit weights', { policy: 'bottom-level', weight: () => 1 }],
        ['fifo', { policy: 'fifo' }],
      ] as const) {
        const sim = simulate(graph, { workers, duration, ...options })
        checkSchedule(graph, durations, workers, sim, `seed ${seed}, ${workers} workers, ${label}`)
      }
    }
  })
})
