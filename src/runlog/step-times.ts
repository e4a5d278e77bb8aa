/**
 * Where a step's time went: queued in the pool, waiting for its node to start, running. One
 * account, made here from one set of marks per attempt, that every display reads: the run log
 * stores it, the report's table and the trace's spans draw it, the CLI prints it. Below the
 * pipeline (the run log stores it), and pure: the marks are epoch ms (`Date.now()`), so sums and
 * differences are exact and every display shows the same figures, not approximately the same.
 */

/** What happened to one attempt, and when (epoch ms). */
export interface AttemptMarks {
  /** The attempt started (its `running` event): it waits in the pool's queue from here. */
  readonly start: number
  /** Its call was sent to a node (call steps). */
  readonly dispatchedAt?: number | undefined
  /** The node it was sent to came up: it was still starting when the call was sent. */
  readonly nodeUpAt?: number | undefined
  readonly end: number
}

/** An attempt's marks put in order, each within the attempt: `start ≤ dispatched ≤ up ≤ end`. */
export interface AttemptPhases {
  readonly start: number
  /** The end of its wait in the pool's queue. */
  readonly dispatched: number
  /** The end of its wait for its node to start: from here it runs. */
  readonly up: number
  readonly end: number
}

/** ms a step spent in each phase, over all its attempts (retry delays are in none of them). */
export interface StepTimes {
  /** In the pool's queue, waiting for a node slot. */
  readonly queued: number
  /** Sent to a node whose worker (agent, connection) was still starting: the pool's start-up. */
  readonly starting: number
  /** Running: on its node, or in the caller for steps off the pool (shell, stub, composite steps). */
  readonly running: number
}

export function attemptPhases(marks: AttemptMarks): AttemptPhases {
  const { start, end } = marks
  const dispatched = within(marks.dispatchedAt, start, end)
  const up = within(marks.nodeUpAt, dispatched, end)
  return { start, dispatched, up, end: Math.max(end, up) }
}

/** `at` (absent: `from`) put between `from` and `end`. */
function within(at: number | undefined, from: number, end: number): number {
  return Math.min(Math.max(at ?? from, from), Math.max(end, from))
}

export function phaseTimes(p: AttemptPhases): StepTimes {
  return { queued: p.dispatched - p.start, starting: p.up - p.dispatched, running: p.end - p.up }
}

export function addTimes(a: StepTimes | undefined, b: StepTimes): StepTimes {
  return a === undefined ? b : { queued: a.queued + b.queued, starting: a.starting + b.starting, running: a.running + b.running }
}

/**
 * How long a recorded step ran: its `running` time; for a record written before those were kept,
 * from its last dispatch (or start) to its end. Undefined for a step that did not run. The
 * recorded durations the next run's weights and ETA use: time queued, or waiting for the pool
 * to start, is not the step's.
 */
export function ranFor(step: {
  readonly attempts: number
  readonly times?: StepTimes | undefined
  readonly startedAt: number | undefined
  readonly dispatchedAt?: number | undefined
  readonly endedAt: number | undefined
}): number | undefined {
  if (step.times !== undefined) return step.attempts === 0 ? undefined : step.times.running
  const start = step.dispatchedAt ?? step.startedAt
  return start === undefined || step.endedAt === undefined ? undefined : step.endedAt - start
}

/**
 * A node's start-up during a run: from the pool's start (or the run's, if the pool started
 * before it) to the node's first `up`. The "pool start" band of the trace, report and summary.
 */
export interface PoolStartBand {
  readonly node: number
  /** Epoch ms. */
  readonly from: number
  readonly to: number
}
