// Runs a StepGraph through spindle's ListScheduler on a virtual clock: no work, no timers, no
// sleeping. Events are finishing times in a min-heap; at each one the clock jumps to it, every step
// finishing at that instant completes, and then every free worker takes a ready step
// (work-conserving: no worker idles while a step is ready). Used by bench/scheduling.mjs and
// bench/pipelines.mjs to compare policies and predict makespans, and by test/unit/simulate.test.ts
// to prove properties of the scheduler. Not part of the package: it runs the built dist/.
import { InvalidOptionError } from '../../dist/errors.js'
import { checkInteger, checkKnownKeys, checkOneOf, shown } from '../../dist/options.js'
import { checkCost } from '../../dist/graph/validate.js'
import { ListScheduler, SCHEDULING_POLICIES } from '../../dist/graph/list-scheduler.js'
import { BinaryHeap } from '../../dist/graph/ready-queue.js'

/**
 * @typedef {object} SimulateOptions
 * @property {number} workers Steps that run at once.
 * @property {'bottom-level' | 'fifo'} [policy] Default 'bottom-level'.
 * @property {(name: string) => number} duration How long each step takes, in any unit (finite, >= 0).
 * @property {(name: string) => number} [weight] The scheduler's cost estimate for bottom levels.
 *   Default `duration` (what an earlier run recorded); pass `() => 1` to model a first run, when
 *   nothing has been measured yet.
 */

/**
 * @typedef {object} StepRun
 * @property {number} start
 * @property {number} end
 * @property {number} worker 0 .. workers - 1; a free worker with the lowest number takes the next step.
 */

/**
 * @typedef {object} Simulation
 * @property {number} makespan When the last step ends.
 * @property {number} lowerBound max(critical path, total work / workers), by duration: no schedule can be shorter.
 * @property {number} criticalPath
 * @property {number} totalWork
 * @property {Map<string, StepRun>} starts Every step, in the order the steps started.
 */

/**
 * @param {import('../../dist/graph/step-graph.js').StepGraph} graph
 * @param {SimulateOptions} options
 * @returns {Simulation}
 */
export function simulate(graph, options) {
  checkKnownKeys('simulate()', options, ['workers', 'policy', 'duration', 'weight'])
  const { workers, policy = 'bottom-level', duration, weight } = options
  checkInteger('workers', workers, 1)
  checkOneOf('policy', policy, SCHEDULING_POLICIES)
  if (typeof duration !== 'function') {
    throw new InvalidOptionError(`Expected \`duration\` to be a function of the step name, got ${shown(duration)}`)
  }
  // Ask for each duration once: the caller's function may be costly or random.
  const durations = new Map()
  for (const name of graph.steps) {
    const d = duration(name)
    checkCost('duration', name, d)
    durations.set(name, d)
  }
  const cost = (name) => durations.get(name)
  const scheduler = new ListScheduler(graph, { policy, weight: weight ?? cost })

  const starts = new Map()
  const finishes = new BinaryHeap((a, b) => a.time - b.time || a.seq - b.seq) // { time, seq, name, worker }
  const free = new BinaryHeap((a, b) => a - b)
  for (let w = 0; w < workers; w++) free.push(w)
  let now = 0
  let seq = 0
  for (;;) {
    while (free.size > 0) {
      const name = scheduler.next()
      if (name === undefined) break
      const worker = free.pop()
      const end = now + cost(name)
      starts.set(name, { start: now, end, worker })
      finishes.push({ time: end, seq: seq++, name, worker })
    }
    const first = finishes.pop()
    if (first === undefined) break
    now = first.time
    // Complete everything that ends now before choosing: the scheduler then picks among all of it.
    let finish = first
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
