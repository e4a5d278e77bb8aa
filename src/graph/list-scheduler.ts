/**
 * A list scheduler over a validated StepGraph, clock-agnostic: it never runs, waits or times
 * anything. Its owner asks `next()` whenever a worker is free (that makes the owner
 * work-conserving) and reports `complete()` or `fail()`; the scheduler keeps the ready queue and
 * the count of unfinished dependencies of every step. O((V + E) log V) over a whole run.
 *
 * Policies:
 * - 'bottom-level' (default): the ready queue in `compareReady` order: user priority, then the
 *   longest remaining path to a sink weighted by estimated cost (HLFET), then most recently
 *   readied, then definition order. Starting the critical path first is what keeps a long chain
 *   from waiting behind hundreds of short steps.
 * - 'fifo': the order steps became ready, and nothing else: the reference the benchmark compares with.
 */
import { SpindleError } from '../errors.js'
import { checkKnownKeys, checkOneOf } from '../options.js'
import type { CompiledGraph, StepGraph, WeightFn } from './step-graph.js'
import { unknownStep } from './validate.js'
import { Deque } from '../deque.js'
import { ReadyQueue, type ReadyKeys } from './ready-queue.js'

export type SchedulingPolicy = 'bottom-level' | 'fifo'
export const SCHEDULING_POLICIES: readonly SchedulingPolicy[] = ['bottom-level', 'fifo']

export interface ListSchedulerOptions {
  /** How ready steps are ordered. @default 'bottom-level' */
  policy?: SchedulingPolicy
  /** Estimated cost per step for bottom levels (e.g. durations of an earlier run). @default each step's `weight` */
  weight?: WeightFn
}

export type StepState = 'waiting' | 'ready' | 'running' | 'done' | 'failed' | 'skipped'

const STATES: readonly StepState[] = ['waiting', 'ready', 'running', 'done', 'failed', 'skipped']
const WAITING = 0
const READY = 1
const RUNNING = 2
const DONE = 3
const FAILED = 4
const SKIPPED = 5

interface ReadyStep extends ReadyKeys {
  readonly index: number
}

export class ListScheduler {
  private readonly graph: StepGraph
  private readonly g: CompiledGraph
  private readonly state: Uint8Array
  /** Unfinished dependencies per step; the step is readied when this reaches 0. */
  private readonly unfinished: Int32Array
  private readonly levels: Float64Array | undefined
  private readonly heap: ReadyQueue<ReadyStep> | undefined
  private readonly fifo: Deque<number> | undefined
  /** Counts completions: steps readied by the same completion share it, so definition order breaks their tie. */
  private event = 0
  private finished = 0
  private running = 0

  constructor(graph: StepGraph, options: ListSchedulerOptions = {}) {
    checkKnownKeys('ListScheduler', options, ['policy', 'weight'])
    const { policy = 'bottom-level', weight } = options
    checkOneOf('policy', policy, SCHEDULING_POLICIES)
    this.graph = graph
    this.g = graph.compiled() // validates: unknown dependencies and cycles throw here
    const n = this.g.names.length
    this.state = new Uint8Array(n)
    this.unfinished = new Int32Array(n)
    if (policy === 'fifo') this.fifo = new Deque<number>()
    else {
      this.heap = new ReadyQueue<ReadyStep>()
      this.levels = graph.bottomLevelArray(weight)
    }
    for (let i = 0; i < n; i++) {
      this.unfinished[i] = this.g.predStart[i + 1]! - this.g.predStart[i]!
      if (this.unfinished[i] === 0) this.ready(i)
    }
  }

  /** Steps ready to start now. */
  get readyCount(): number {
    return this.heap?.size ?? this.fifo!.length
  }

  /** Steps taken with `next()` and not yet completed or failed. */
  get runningCount(): number {
    return this.running
  }

  /** Every step has completed, failed or been skipped because a dependency failed. */
  get done(): boolean {
    return this.finished === this.g.names.length
  }

  /** Where a step is in its life: waiting → ready → running → done | failed, or skipped. */
  stateOf(name: string): StepState {
    return STATES[this.state[this.indexOf(name)]!]!
  }

  /** Takes the best ready step (it is now running), or undefined when none is ready. */
  next(): string | undefined {
    const index = this.heap !== undefined ? this.heap.pop()?.index : this.fifo!.shift()
    if (index === undefined) return undefined
    this.state[index] = RUNNING
    this.running++
    return this.g.names[index]
  }

  /** Marks a running step done; returns the steps that became ready, in definition order. */
  complete(name: string): string[] {
    const index = this.take(name, 'complete')
    this.state[index] = DONE
    this.event++
    const readied: string[] = []
    const { succStart, succ, names } = this.g
    for (let e = succStart[index]!; e < succStart[index + 1]!; e++) {
      const s = succ[e]!
      if (--this.unfinished[s]! === 0 && this.state[s] === WAITING) {
        this.ready(s)
        readied.push(names[s]!)
      }
    }
    return readied
  }

  /**
   * Marks a running step failed; returns the descendants that can no longer run (newly skipped,
   * in definition order), for `continueOnError` to report as skipped while the rest goes on.
   */
  fail(name: string): string[] {
    const index = this.take(name, 'fail')
    this.state[index] = FAILED
    const { succStart, succ, names } = this.g
    const skipped: number[] = []
    // A descendant of a failed step cannot have started, so every one still waiting is skipped;
    // one already skipped (by an earlier failure) had its own descendants skipped then.
    const frontier = [index]
    while (frontier.length > 0) {
      const v = frontier.pop()!
      for (let e = succStart[v]!; e < succStart[v + 1]!; e++) {
        const s = succ[e]!
        if (this.state[s] !== WAITING) continue
        this.state[s] = SKIPPED
        skipped.push(s)
        frontier.push(s)
      }
    }
    this.finished += skipped.length
    return skipped.sort((a, b) => a - b).map((i) => names[i]!)
  }

  private ready(index: number): void {
    this.state[index] = READY
    if (this.fifo !== undefined) return this.fifo.push(index)
    this.heap!.push({
      index,
      priority: this.g.priorities[index]!,
      bottomLevel: this.levels![index]!,
      readiedAt: this.event,
      insertion: index,
    })
  }

  /** The graph's numbering, limited to the steps it had when this scheduler was made. */
  private indexOf(name: string): number {
    const index = this.graph.has(name) ? this.graph.indexOf(name) : -1
    if (index < 0 || index >= this.g.names.length) throw unknownStep(name, this.g.names)
    return index
  }

  private take(name: string, verb: string): number {
    const index = this.indexOf(name)
    const state = this.state[index]!
    if (state !== RUNNING) {
      throw new SpindleError(
        'ERR_SPINDLE_INVALID_ARGUMENT',
        `Cannot ${verb} step "${name}": it is ${STATES[state]}, not running. Only a step returned by next() can be completed or failed, once.`,
      )
    }
    this.running--
    this.finished++
    return index
  }
}
