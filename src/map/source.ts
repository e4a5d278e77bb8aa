/**
 * Where parallelMap's items come from: an array, any iterable, any async iterable (a fast-glob
 * stream of file names among them). Items are pulled lazily, `n` at a time, so a source of a
 * million items never has more than the read-ahead in memory.
 */
import { InvalidOptionError } from '../errors.js'

export interface ItemSource {
  /** The number of items, when known up front (arrays, typed arrays, sets, maps). */
  readonly total: number | undefined
  /** Up to `n` more items; an empty array when the source is exhausted. */
  take(n: number): unknown[] | Promise<unknown[]>
  /** Stops the underlying iterator early (abort, failure). */
  close(): Promise<void>
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
    take(n) {
      const out = items.slice(at, at + n)
      at += out.length
      return out
    },
    close: async () => {},
  }
}

function syncSource(iterator: Iterator<unknown>, total: number | undefined): ItemSource {
  let done = false
  return {
    total,
    take(n) {
      const out: unknown[] = []
      while (!done && out.length < n) {
        const next = iterator.next()
        if (next.done === true) done = true
        else out.push(next.value)
      }
      return out
    },
    async close() {
      if (!done) iterator.return?.()
      done = true
    },
  }
}

function asyncSource(iterator: AsyncIterator<unknown>): ItemSource {
  let done = false
  return {
    total: undefined,
    async take(n) {
      const out: unknown[] = []
      while (!done && out.length < n) {
        const next = await iterator.next()
        if (next.done === true) done = true
        else out.push(next.value)
      }
      return out
    },
    async close() {
      if (!done) await iterator.return?.()
      done = true
    },
  }
}

/** Placeholders for a typed array's indices: its values stay in shared memory, never copied per chunk. */
export function rangeSource(length: number): ItemSource {
  let at = 0
  return {
    total: length,
    take(n) {
      const count = Math.max(0, Math.min(n, length - at))
      at += count
      return new Array<unknown>(count)
    },
    close: async () => {},
  }
}
