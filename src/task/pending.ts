/**
 * A `Pending<T>` describes work; it runs nothing. Passing one as an argument of another remote
 * call makes a graph (Dask's delayed): the dependency runs first, once per run, and its value
 * becomes the argument.
 */

/** Which exported function of which module a call runs. */
export interface TaskRef {
  /** Absolute URL of the task module (file: URL). */
  readonly module: string
  /** Export name. */
  readonly name: string
}

declare const resultType: unique symbol

export type PendingKind = 'call' | 'gather'

export class Pending<T> {
  /** Phantom: the type of the value this describes. Never set at run time. */
  declare readonly [resultType]: T

  private constructor(
    readonly kind: PendingKind,
    /** The task, for `call`. */
    readonly task: TaskRef | undefined,
    /** Arguments (values or Pendings) for `call`; the items for `gather`. */
    readonly args: readonly unknown[],
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

  /** A short label for messages: `processChunk (tasks.js)` or `gather(3)`. */
  get label(): string {
    return this.task === undefined ? `gather(${this.args.length})` : taskLabel(this.task)
  }
}

export function isPending(value: unknown): value is Pending<unknown> {
  return value instanceof Pending
}

export function taskLabel(task: TaskRef): string {
  const file = task.module.slice(task.module.lastIndexOf('/') + 1)
  return `${task.name} (${file})`
}

/** A value, or a Pending that will produce it. */
export type Deferrable<T> = T | Pending<T>

/** The value type a Pending produces. */
export type ValueOf<P> = P extends Pending<infer T> ? T : never
