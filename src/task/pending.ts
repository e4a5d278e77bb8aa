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

/** The step of a pipeline a `step` Pending stands for: its output, once the step has run. */
export interface StepId {
  /** The pipeline that defines it (compared by identity). */
  readonly pipeline: { readonly name: string }
  readonly name: string
  /** Set when this is a run parameter rather than a step. */
  readonly param?: { readonly defaultValue: unknown; readonly hasDefault: boolean }
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
    readonly step?: StepId,
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
  static step<T>(step: StepId): Pending<T> {
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
