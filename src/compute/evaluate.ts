/**
 * Runs a Pending graph on a dispatcher: dependencies first (each at most once per run, however
 * many calls use it), independent calls at once, each call submitted as soon as its arguments
 * are values. Pendings may sit at any depth of plain arrays and objects in an argument. A call
 * whose arguments cannot be sent to a worker fails here, before any work.
 *
 * The graph is walked iteratively (task/walk.ts): every Pending's promise is made after those of
 * what it depends on, so a 100,000-long chain needs no deeper stack than a single call.
 */
import { SpindleError } from '../errors.js'
import { argumentsNotCloneable, findNotCloneable } from '../protocol/cloneable.js'
import { ARGS } from '../protocol/value-path.js'
import { taskLabel, type Pending, type TaskRef } from '../task/pending.js'
import { planArguments, substitute, visitInOrder, type ArgumentPlan } from '../task/walk.js'
import type { CallOptions } from '../task/call-sink.js'
import { localRunner } from '../task/local-task.js'
import type { Dispatcher } from '../dispatch/dispatcher.js'
import type { TraceParent } from '../observe/otel.js'

/** Gives the output of a pipeline step that a Pending refers to (pipelines provide it). */
export type StepResolver = (step: Pending<unknown>) => Promise<unknown>

export class Evaluation {
  private memo: Map<Pending<unknown>, Promise<unknown>> | undefined

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly options: CallOptions,
    private readonly resolveStep?: StepResolver,
    /** Where the calls' spans start, when tracing is on (observe/otel.ts). */
    private readonly trace?: TraceParent,
  ) {}

  /** The value of `pending`, running it (and what it depends on) unless this run already did. */
  value<T>(pending: Pending<T>): Promise<T> {
    const memo = (this.memo ??= new Map())
    try {
      visitInOrder(pending, (p) => memo.has(p), (p, plan) => memo.set(p, this.start(p, plan)))
    } catch (error) {
      return Promise.reject(error)
    }
    return memo.get(pending) as Promise<T>
  }

  /** The value of the top-level Pending of a run: a call with plain arguments (the common case) goes straight out. */
  root<T>(pending: Pending<T>): Promise<T> {
    if (pending.kind === 'call' && this.memo === undefined) {
      const plan = planArguments(pending.args)
      if (plan.pendings.length === 0) return this.submit(pending.task!, pending.args, this.options) as Promise<T>
    }
    return this.value(pending)
  }

  /** Values of a gather's items (or of a single Pending), one promise each, all started now. */
  items(pending: Pending<unknown>): Promise<unknown>[] {
    return pending.kind === 'gather' ? pending.args.map((item) => this.value(item as Pending<unknown>)) : [this.value(pending)]
  }

  /** Runs `pending`'s task with its arguments resolved, with extra options (broadcast pins nodes). */
  callWith(pending: Pending<unknown>, options: CallOptions): Promise<unknown> {
    const plan = planArguments(pending.args)
    return this.callAfter(pending, plan, plan.pendings.map((dep) => this.value(dep)), options)
  }

  /** The promise of one Pending, once every Pending it depends on has one in the memo. */
  private start(pending: Pending<unknown>, plan: ArgumentPlan): Promise<unknown> {
    const memo = this.memo!
    const deps = plan.pendings
    if (pending.kind === 'gather') return Promise.all(deps.map((item) => memo.get(item)))
    if (pending.kind === 'step') {
      if (this.resolveStep !== undefined) return this.resolveStep(pending)
      return Promise.reject(
        new SpindleError(
          'ERR_SPINDLE_STEP_OUTSIDE_PIPELINE',
          `${pending.label} of pipeline "${pending.step!.pipeline.name}" has no value outside its pipeline. ` +
            'Use it as an argument of another step of that pipeline, and read it from the run: run.output(step).',
        ),
      )
    }
    if (deps.length === 0) return this.submit(pending.task!, pending.args, this.options)
    return this.callAfter(pending, plan, deps.map((dep) => memo.get(dep)!), this.options)
  }

  /** Submits `pending`'s call once `values` (its Pendings' promises, in `plan.pendings` order) are values, in their places. */
  private callAfter(pending: Pending<unknown>, plan: ArgumentPlan, values: readonly Promise<unknown>[], options: CallOptions): Promise<unknown> {
    const { pendings } = plan
    const call = (args: unknown[]) => this.submit(pending.task!, args, options)
    // One dependency (a chain's link) needs no Promise.all; a few no Map.
    if (values.length === 1) return values[0]!.then((value) => call(substitute(pending.args, plan, () => value)))
    return Promise.all(values).then((settled) => {
      if (pendings.length <= 8) return call(substitute(pending.args, plan, (p) => settled[pendings.indexOf(p)]))
      const byPending = new Map(pendings.map((dep, i) => [dep, settled[i]]))
      return call(substitute(pending.args, plan, (p) => byPending.get(p)))
    })
  }

  private submit(task: TaskRef, args: readonly unknown[], options: CallOptions): Promise<unknown> {
    if (this.trace !== undefined) {
      const target = { task, backend: this.dispatcher.backend.kind }
      return this.trace.call(`spindle.call ${task.name}`, target, undefined, options, (traced) => this.send(task, args, traced))
    }
    return this.send(task, args, options)
  }

  private send(task: TaskRef, args: readonly unknown[], options: CallOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const bad = findNotCloneable(args, ARGS)
      if (bad !== undefined) return reject(argumentsNotCloneable(taskLabel(task), bad))
      const local = localRunner(task) // an actor's method: its mailbox sends it (task/local-task.ts)
      if (local !== undefined) return void local(args, options).then(resolve, reject)
      this.dispatcher.submit(task, args, options, resolve, reject)
    })
  }
}
