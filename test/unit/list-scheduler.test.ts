import { describe, it, expect } from 'vitest'
import { StepGraph, type StepOptions } from '../../src/graph/step-graph.js'
import { ListScheduler, type SchedulingPolicy } from '../../src/scheduler/list-scheduler.js'
import { simulate, type Simulation } from '../../src/scheduler/simulate.js'
import { InvalidOptionError, SpindleError } from '../../src/errors.js'
import { caught, prng } from '../helpers/testing.js'


function graphOf(steps: Record<string, StepOptions>): StepGraph {
  const graph = new StepGraph()
  for (const [name, options] of Object.entries(steps)) graph.add(name, options)
  return graph
}


/** Takes every ready step, in order, until none is ready. */
function drain(scheduler: ListScheduler): string[] {
  const taken: string[] = []
  for (let name = scheduler.next(); name !== undefined; name = scheduler.next()) taken.push(name)
  return taken
}

describe('ListScheduler: order of the ready queue', () => {
  it('starts the step with the longest remaining path first', () => {
    const graph = graphOf({ lone: {}, head: {}, mid: { deps: ['head'] }, tail: { deps: ['mid'] } })
    const scheduler = new ListScheduler(graph)
    expect(scheduler.readyCount).toBe(2)
    expect(drain(scheduler)).toEqual(['head', 'lone'])
  })

  it("puts the user's priority before the bottom level", () => {
    const graph = graphOf({ head: {}, mid: { deps: ['head'] }, urgent: { priority: 1 }, later: { priority: -1, weight: 9 } })
    expect(drain(new ListScheduler(graph))).toEqual(['urgent', 'head', 'later'])
  })

  it('weighs paths by the given costs (durations of an earlier run)', () => {
    const graph = graphOf({ a: {}, a2: { deps: ['a'] }, b: {} })
    expect(drain(new ListScheduler(graph))).toEqual(['a', 'b'])
    expect(drain(new ListScheduler(graph, { weight: (n) => (n === 'b' ? 5 : 1) }))).toEqual(['b', 'a'])
  })

  it('prefers the most recently readied, then definition order', () => {
    const graph = graphOf({ p: {}, q: {}, r: {}, p1: { deps: ['p'] }, q1: { deps: ['q'] } })
    const scheduler = new ListScheduler(graph)
    expect([scheduler.next(), scheduler.next()]).toEqual(['p', 'q'])
    expect(scheduler.complete('p')).toEqual(['p1'])
    expect(scheduler.next()).toBe('p1') // bottom level 1 like r, but readied later
    expect(scheduler.complete('q')).toEqual(['q1'])
    expect(drain(scheduler)).toEqual(['q1', 'r'])
  })

  it("orders 'fifo' by readied order only", () => {
    const graph = graphOf({ lone: { priority: 5 }, head: {}, mid: { deps: ['head'] }, tail: { deps: ['mid'] }, x: {} })
    const scheduler = new ListScheduler(graph, { policy: 'fifo' })
    expect(drain(scheduler)).toEqual(['lone', 'head', 'x'])
    scheduler.complete('head')
    scheduler.complete('lone')
    expect(drain(scheduler)).toEqual(['mid'])
  })
})

describe('ListScheduler: completion and failure', () => {
  it('readies dependents when their last dependency completes, and says when it is done', () => {
    const graph = graphOf({ load: {}, featA: { deps: ['load'] }, featB: { deps: ['load'] }, train: { deps: ['featA', 'featB'] } })
    const scheduler = new ListScheduler(graph)
    expect(scheduler.next()).toBe('load')
    expect(scheduler.next()).toBeUndefined()
    expect(scheduler.runningCount).toBe(1)
    expect(scheduler.complete('load')).toEqual(['featA', 'featB'])
    expect(scheduler.readyCount).toBe(2)
    expect(drain(scheduler)).toEqual(['featA', 'featB'])
    expect(scheduler.complete('featB')).toEqual([])
    expect(scheduler.stateOf('train')).toBe('waiting')
    expect(scheduler.complete('featA')).toEqual(['train'])
    expect(scheduler.done).toBe(false)
    expect(scheduler.next()).toBe('train')
    scheduler.complete('train')
    expect(scheduler.done).toBe(true)
    expect(scheduler.stateOf('train')).toBe('done')
  })

  it('skips every descendant of a failed step and runs the rest', () => {
    const graph = graphOf({ a: {}, e: {}, b: { deps: ['a'] }, c: { deps: ['a'] }, d: { deps: ['b', 'e'] }, f: { deps: ['e'] } })
    const scheduler = new ListScheduler(graph)
    expect(drain(scheduler)).toEqual(['a', 'e'])
    expect(scheduler.fail('a')).toEqual(['b', 'c', 'd'])
    expect(scheduler.stateOf('a')).toBe('failed')
    expect(scheduler.stateOf('d')).toBe('skipped')
    expect(scheduler.complete('e')).toEqual(['f']) // d lost its last dependency but stays skipped
    expect(scheduler.next()).toBe('f')
    expect(scheduler.fail('f')).toEqual([])
    expect(scheduler.done).toBe(true)
  })

  it('does not report a step skipped by an earlier failure again', () => {
    const graph = graphOf({ a: {}, b: {}, c: { deps: ['a', 'b'] }, d: { deps: ['b'] } })
    const scheduler = new ListScheduler(graph)
    drain(scheduler)
    expect(scheduler.fail('a')).toEqual(['c'])
    expect(scheduler.fail('b')).toEqual(['d'])
    expect(scheduler.done).toBe(true)
  })

  it('refuses to complete or fail a step that is not running, and names unknown steps', () => {
    const graph = graphOf({ a: {}, b: { deps: ['a'] } })
    const scheduler = new ListScheduler(graph)
    expect(caught(() => scheduler.complete('b')).message).toBe(
      'Cannot complete step "b": it is waiting, not running. Only a step returned by next() can be completed or failed, once.',
    )
    expect(caught(() => scheduler.fail('a')).message).toMatch(/^Cannot fail step "a": it is ready, not running\./)
    scheduler.next()
    scheduler.complete('a')
    const twice = caught(() => scheduler.complete('a'))
    expect(twice.code).toBe('ERR_SPINDLE_INVALID_ARGUMENT')
    expect(twice.message).toMatch(/it is done, not running/)
    expect(caught(() => scheduler.complete('c')).code).toBe('ERR_SPINDLE_UNKNOWN_STEP')
    graph.add('c') // after the scheduler was made: not part of its run
    expect(caught(() => scheduler.stateOf('c')).message).toBe('There is no step named "c". Defined steps: a, b.')
  })

  it('validates the graph and its options', () => {
    const cyclic = graphOf({ a: { deps: ['b'] }, b: { deps: ['a'] } })
    expect(caught(() => new ListScheduler(cyclic)).message).toBe('Cycle between steps: a → b → a.')
    const error = caught(() => new ListScheduler(new StepGraph(), { policy: 'lifo' as SchedulingPolicy }))
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(error.message).toBe("Expected `policy` to be one of 'bottom-level', 'fifo', got `\"lifo\"` (string)")
    expect(new ListScheduler(new StepGraph()).done).toBe(true)
  })
})

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
    expect(caught(() => simulate(graph, { workers: 0, duration: () => 1 })).message).toBe(
      'Expected `workers` to be an integer >= 1, got `0` (number)',
    )
    expect(caught(() => simulate(graph, { workers: 1, duration: () => -1 })).message).toBe(
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
