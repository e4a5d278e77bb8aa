/**
 * Runs a Pending graph on a dispatcher: dependencies first (each at most once per run, however
 * many calls use it), independent calls at once, each call submitted as soon as its arguments
 * are values. A call whose arguments cannot be sent to a worker fails here, before any work.
 */
import { SpindleError } from '../errors.js'
import { argumentsNotCloneable, findNotCloneable } from '../protocol/cloneable.js'
import { isPending, taskLabel, type Pending, type TaskRef } from '../task/pending.js'
import type { CallOptions } from '../scheduler/call.js'
import type { Dispatcher } from '../scheduler/dispatcher.js'

/** Gives the output of a pipeline step that a Pending refers to (pipelines provide it). */
export type StepResolver = (step: Pending<unknown>) => Promise<unknown>

export class Evaluation {
  private memo: Map<Pending<unknown>, Promise<unknown>> | undefined

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly options: CallOptions,
    private readonly resolveStep?: StepResolver,
  ) {}

  /** The value of `pending`, running it (and what it depends on) unless this run already did. */
  value<T>(pending: Pending<T>): Promise<T> {
    const memo = (this.memo ??= new Map())
    let promise = memo.get(pending)
    if (promise === undefined) {
      promise = this.start(pending)
      memo.set(pending, promise)
    }
    return promise as Promise<T>
  }

  /** The value of the top-level Pending of a run: nothing can share it, so no memo is needed. */
  root<T>(pending: Pending<T>): Promise<T> {
    return (this.memo === undefined && pending.kind === 'call' ? this.start(pending) : this.value(pending)) as Promise<T>
  }

  /** Values of a gather's items (or of a single Pending), one promise each, all started now. */
  items(pending: Pending<unknown>): Promise<unknown>[] {
    return pending.kind === 'gather' ? pending.args.map((item) => this.value(item as Pending<unknown>)) : [this.value(pending)]
  }

  /** Runs `pending`'s task with its arguments resolved, with extra options (broadcast pins nodes). */
  async callWith(pending: Pending<unknown>, options: CallOptions): Promise<unknown> {
    const args = await this.resolveArgs(pending.args)
    return this.submit(pending.task!, args, options)
  }

  private start(pending: Pending<unknown>): Promise<unknown> {
    if (pending.kind === 'gather') return Promise.all(this.items(pending))
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
    const task = pending.task!
    if (!pending.args.some(isPending)) return this.submit(task, pending.args, this.options)
    return this.resolveArgs(pending.args).then((args) => this.submit(task, args, this.options))
  }

  private resolveArgs(args: readonly unknown[]): Promise<unknown[]> {
    return Promise.all(args.map((arg) => (isPending(arg) ? this.value(arg) : arg)))
  }

  private submit(task: TaskRef, args: readonly unknown[], options: CallOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const bad = findNotCloneable(args, 'args')
      if (bad !== undefined) return reject(argumentsNotCloneable(taskLabel(task), bad))
      this.dispatcher.submit(task, args, options, resolve, reject)
    })
  }
}
