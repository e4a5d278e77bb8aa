/**
 * A value for the code of one call (which call runs, and on the inline backend, on which pool),
 * readable from anything that code does.
 *
 * AsyncLocalStorage carries the value into the promises and timers a call starts, but on Node 20
 * its first run() switches on a promise hook for the whole thread, and from then on every promise
 * made by anyone pays about a microsecond to copy the value along. In a worker those are mostly
 * the tasks' own promises. On the caller's thread (the inline backend) they are every promise of
 * the dispatcher and the pipeline as well: a fifth of the cost of a no-op pipeline step. So a call
 * can also run untracked, its value visible during its synchronous part only, from a plain
 * variable; and `switchOff()` turns the storage off again once nothing tracked is running.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

export class TaskLocal<T> {
  private readonly storage = new AsyncLocalStorage<T>()
  /** The value of the untracked call whose synchronous code is running, if any. */
  private current: T | undefined

  get(): T | undefined {
    return this.current ?? this.storage.getStore()
  }

  /**
   * Calls `fn(...args)` with `value` visible: to its synchronous part only, or (`tracked`) to
   * the promises and timers it starts too.
   */
  run(value: T, tracked: boolean, fn: (...args: unknown[]) => unknown, args: readonly unknown[]): unknown {
    const outer = this.current
    // Inside a tracked call the storage holds the innermost value, so the variable must not shadow it.
    this.current = tracked ? undefined : value
    try {
      return tracked ? this.storage.run(value, fn, ...args) : fn(...args)
    } finally {
      this.current = outer
    }
  }

  /** No tracked call is running any more: stop the promise hook (the next tracked run restarts it). */
  switchOff(): void {
    this.storage.disable()
  }
}
