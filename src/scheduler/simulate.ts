/**
 * Runs a StepGraph through the ListScheduler on a virtual clock: no work, no timers, no sleeping.
 * Events are finishing times in a min-heap; at each one the clock jumps to it, every step
 * finishing at that instant completes, and then every free worker takes a ready step
 * (work-conserving: no worker idles while a step is ready). Used by tests to prove properties of
 * the scheduler and by bench/scheduling.mjs to compare policies.
 */
import { InvalidOptionError } from '../errors.js'
import { checkInteger, checkKnownKeys, checkOneOf, shown } from '../options.js'
import type { StepGraph, WeightFn } from '../graph/step-graph.js'
import { checkCost } from '../graph/validate.js'
import { ListScheduler, SCHEDULING_POLICIES, type SchedulingPolicy } from './list-scheduler.js'
import { BinaryHeap } from './ready-queue.js'

export interface SimulateOptions {
  /** Steps that run at once. */
  workers: number
  /** @default 'bottom-level' */
  policy?: SchedulingPolicy
  /** How long each step takes, in any unit (finite, >= 0). */
  duration: (name: string) => number
  /**
   * The scheduler's cost estimate for bottom levels. @default `duration` (what an earlier run
   * recorded); pass `() => 1` to model a first run, when nothing has been measured yet.
   */
  weight?: WeightFn
}

export interface StepRun {
  start: number
  end: number
  /** 0 .. workers - 1; a free worker with the lowest number takes the next step. */
  worker: number
}

export interface Simulation {
  /** When the last step ends. */
  makespan: number
  /** max(critical path, total work / workers), by duration: no schedule can be shorter. */
  lowerBound: number
  criticalPath: number
  totalWork: number
  /** Every step, in the order the steps started. */
  starts: Map<string, StepRun>
}

interface Finish {
  readonly time: number
  readonly seq: number
  readonly name: string
  readonly worker: number
}

export function simulate(graph: StepGraph, options: SimulateOptions): Simulation {
  checkKnownKeys('simulate()', options, ['workers', 'policy', 'duration', 'weight'])
  const { workers, policy = 'bottom-level', duration, weight } = options
  checkInteger('workers', workers, 1)
  checkOneOf('policy', policy, SCHEDULING_POLICIES)
  if (typeof duration !== 'function') {
    throw new InvalidOptionError(`Expected \`duration\` to be a function of the step name, got ${shown(duration)}`)
  }
  // Ask for each duration once: the caller's function may be costly or random.
  const durations = new Map<string, number>()
  for (const name of graph.steps) {
    const d = duration(name)
    checkCost('duration', name, d)
    durations.set(name, d)
  }
  const cost = (name: string): number => durations.get(name)!
  const scheduler = new ListScheduler(graph, { policy, weight: weight ?? cost })

  const starts = new Map<string, StepRun>()
  const finishes = new BinaryHeap<Finish>((a, b) => a.time - b.time || a.seq - b.seq)
  const free = new BinaryHeap<number>((a, b) => a - b)
  for (let w = 0; w < workers; w++) free.push(w)
  let now = 0
  let seq = 0
  for (;;) {
    while (free.size > 0) {
      const name = scheduler.next()
      if (name === undefined) break
      const worker = free.pop()!
      const end = now + cost(name)
      starts.set(name, { start: now, end, worker })
      finishes.push({ time: end, seq: seq++, name, worker })
    }
    const first = finishes.pop()
    if (first === undefined) break
    now = first.time
    // Complete everything that ends now before choosing: the scheduler then picks among all of it.
    let finish: Finish | undefined = first
    while (finish !== undefined) {
      scheduler.complete(finish.name)
      free.push(finish.worker)
      finish = finishes.peek()?.time === now ? finishes.pop() : undefined
    }
  }

  const criticalPath = graph.criticalPath(cost)
  const totalWork = graph.totalWork(cost)
  return { makespan: now, lowerBound: Math.max(criticalPath, totalWork / workers), criticalPath, totalWork, starts }
}
