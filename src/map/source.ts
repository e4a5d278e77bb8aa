/**
 * Where parallelMap's items come from: an array, any iterable, any async iterable (a fast-glob
 * stream of file names among them). Items are pulled lazily, `n` at a time, so a source of a
 * million items never has more than the read-ahead in memory.
 */
import { InvalidOptionError } from '../errors.js'

export interface ItemSource {
  /** The number of items, when known up front (arrays, typed arrays, sets, maps). */
  readonly total: number | undefined
  /** Up to `n` more items; empty when the source is exhausted. */
  take(n: number): ArrayLike<unknown> | Promise<ArrayLike<unknown>>
  /** Returns items taken but not used, to be taken again first (the probe's leftovers). */
  putBack(items: ArrayLike<unknown>): void
  /** Stops the underlying iterator early (abort, failure). */
  close(): Promise<void>
  /** The items themselves, when the source is an array: read in place, not taken in copies. */
  readonly array?: readonly unknown[]
}

export type MapInput<T> = Iterable<T> | AsyncIterable<T> | ArrayLike<T>

export function itemSource(items: unknown): ItemSource {
  if (Array.isArray(items)) return arraySource(items)
  if (items !== null && typeof items === 'object') {
    if (Symbol.asyncIterator in items) return asyncSource((items as AsyncIterable<unknown>)[Symbol.asyncIterator]())
    if (Symbol.iterator in items) {
      const size = (items as { size?: unknown }).size
      return syncSource((items as Iterable<unknown>)[Symbol.iterator](), typeof size === 'number' ? size : undefined)
    }
    if (typeof (items as ArrayLike<unknown>).length === 'number') return arraySource(Array.from(items as ArrayLike<unknown>))
  }
  throw new InvalidOptionError(
    `parallelMap() needs items as an array, an iterable or an async iterable, got ${items === null ? 'null' : typeof items}.`,
  )
}

function arraySource(items: readonly unknown[]): ItemSource {
  let at = 0
  return {
    total: items.length,
    array: items,
    take(n) {
      const out = items.slice(at, at + n)
      at += out.length
      return out
    },
    putBack(taken) {
      at -= taken.length // they are the items just before `at`
    },
    close: async () => {},
  }
}

function syncSource(iterator: Iterator<unknown>, total: number | undefined): ItemSource {
  let done = false
  let back: unknown[] = []
  return {
    total,
    take(n) {
      const out: unknown[] = back.splice(0, n)
      while (!done && out.length < n) {
        const next = iterator.next()
        if (next.done === true) done = true
        else out.push(next.value)
      }
      return out
    },
    putBack(taken) {
      back = [...Array.from(taken), ...back]
    },
    async close() {
      if (!done) iterator.return?.()
      done = true
    },
  }
}

function asyncSource(iterator: AsyncIterator<unknown>): ItemSource {
  let done = false
  let back: unknown[] = []
  return {
    total: undefined,
    async take(n) {
      const out: unknown[] = back.splice(0, n)
      while (!done && out.length < n) {
        const next = await iterator.next()
        if (next.done === true) done = true
        else out.push(next.value)
      }
      return out
    },
    putBack(taken) {
      back = [...Array.from(taken), ...back]
    },
    async close() {
      if (!done) await iterator.return?.()
      done = true
    },
  }
}

/**
 * A typed array's index ranges: its values stay in shared memory, so a "batch of items" is only
 * a count (an array-like with a length), never a copy.
 */
export function rangeSource(length: number): ItemSource {
  let at = 0
  return {
    total: length,
    take(n) {
      const count = Math.max(0, Math.min(n, length - at))
      at += count
      return { length: count }
    },
    putBack(taken) {
      at -= taken.length
    },
    close: async () => {},
  }
}
