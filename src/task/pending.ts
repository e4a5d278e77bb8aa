/**
 * A `Pending<T>` describes work; it runs nothing. Passing one as an argument of another remote
 * call makes a graph (Dask's delayed): the dependency runs first, once per run, and its value
 * becomes the argument.
 */
import { types } from 'node:util'

/** Which exported function of which module a call runs. */
export interface TaskRef {
  /** Absolute URL of the task module (file: URL). */
  readonly module: string
  /** Export name. */
  readonly name: string
}

declare const resultType: unique symbol

export type PendingKind = 'call' | 'gather' | 'step'

/**
 * What a `step` Pending stands for: a value the pipeline running it supplies (a step's output
 * once the step has run, or a run parameter). Only what messages need is said here; the
 * pipeline's own `StepId` (pipeline/definition.ts) says the rest.
 */
export interface StepRef {
  /** The pipeline that supplies it (compared by identity). */
  readonly pipeline: { readonly name: string }
  readonly name: string
  /** Set when this is a run parameter rather than a step (what it holds is the pipeline's business). */
  readonly param?: object
}

export class Pending<T> {
  /** Phantom: the type of the value this describes. Never set at run time. */
  declare readonly [resultType]: T

  private constructor(
    readonly kind: PendingKind,
    /** The task, for `call`. */
    readonly task: TaskRef | undefined,
    /** Arguments (values or Pendings) for `call`; the items for `gather`. */
    readonly args: readonly unknown[],
    /** The step, for `step`. */
    readonly step?: StepRef,
  ) {
    Object.freeze(this)
  }

  /** @internal */
  static call<T>(task: TaskRef, args: readonly unknown[]): Pending<T> {
    return new Pending<T>('call', task, args)
  }

  /** @internal */
  static gather<T>(items: readonly Pending<unknown>[]): Pending<T> {
    return new Pending<T>('gather', undefined, items)
  }

  /** @internal A pipeline step's output (what `pipeline.step()` returns). */
  static step<T>(step: StepRef): Pending<T> {
    return new Pending<T>('step', undefined, [], Object.freeze(step))
  }

  /** A short label for messages: `processChunk (tasks.js)`, `gather(3)` or `step "train"`. */
  get label(): string {
    if (this.step !== undefined) return `${this.step.param ? 'parameter' : 'step'} "${this.step.name}"`
    return this.task === undefined ? `gather(${this.args.length})` : taskLabel(this.task)
  }
}

export function isPending(value: unknown): value is Pending<unknown> {
  // A proxy is never a Pending, and `instanceof` would run its getPrototypeOf trap (which may throw).
  return typeof value === 'object' && value !== null && !types.isProxy(value) && value instanceof Pending
}

export function taskLabel(task: TaskRef): string {
  const file = task.module.slice(task.module.lastIndexOf('/') + 1)
  return `${task.name} (${file})`
}

/** A value, or a Pending that will produce it. */
export type Deferrable<T> = T | Pending<T>

/** The value type a Pending produces. */
export type ValueOf<P> = P extends Pending<infer T> ? T : never
