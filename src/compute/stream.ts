/**
 * Streams the results of a batch: in submission order, or as they finish (each tagged with its
 * index and Pending). Leaving the loop early, or a failed call, cancels what has not finished.
 */
import type { Pending } from '../task/pending.js'

/** One result of an unordered stream: which submitted call it belongs to, and its value. */
export interface Finished<T, I extends number = number> {
  /** Position of the call in the gather (0 for a single Pending). */
  readonly index: I
  /** The Pending that was submitted at that position. */
  readonly pending: Pending<T>
  readonly value: T
}

/** Per-position results of a tuple of values, as a union (so `index` narrows `value`). */
export type FinishedOf<T> = T extends readonly unknown[]
  ? { [K in keyof T]: K extends `${infer I extends number}` ? Finished<T[K], I> : never }[number] extends infer U
    ? [U] extends [never]
      ? Finished<T[number]>
      : U
    : never
  : Finished<T, 0>

export async function* ordered<T>(promises: Promise<unknown>[], stop: () => void): AsyncGenerator<T> {
  promises.forEach(quiet)
  try {
    for (const promise of promises) yield (await promise) as T
  } finally {
    stop()
  }
}

export async function* unordered<T>(
  promises: Promise<unknown>[],
  items: readonly Pending<unknown>[],
  stop: () => void,
): AsyncGenerator<T> {
  // Results are queued as they settle; the generator wakes when one arrives.
  const done: Array<{ index: number; ok: boolean; value: unknown }> = []
  let wake: (() => void) | undefined
  promises.forEach((promise, index) =>
    promise.then(
      (value) => arrive({ index, ok: true, value }),
      (value: unknown) => arrive({ index, ok: false, value }),
    ),
  )
  function arrive(result: { index: number; ok: boolean; value: unknown }) {
    done.push(result)
    wake?.()
  }
  try {
    for (let yielded = 0; yielded < promises.length; yielded++) {
      while (done.length === 0) await new Promise<void>((resolve) => (wake = resolve))
      const result = done.shift()!
      if (!result.ok) throw result.value
      yield { index: result.index, pending: items[result.index], value: result.value } as T
    }
  } finally {
    stop()
  }
}

function quiet(promise: Promise<unknown>): void {
  promise.catch(() => {}) // rejections are rethrown in order; the ones never reached are not unhandled
}
