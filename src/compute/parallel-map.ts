/**
 * parallelMap(items, fn, options): fan-out over an iterable, results in input order, on the
 * pool the call chooses; parallelMap.iterate(...): the same as an async iterable with bounded
 * read-ahead. The map itself is map/parallel-map.ts; here is only where it runs: the given
 * Compute, a fresh one of `workers` threads (closed after), inside a task the pool the task runs
 * on, else a shared pool started on first use and, like any idle pool, never keeping the
 * process alive.
 */
import { InvalidOptionError } from '../errors.js'
import { checkInteger } from '../options.js'
import type { TypedArray } from '../map/outcome.js'
import { iterateOn, mapOn, type Mapper, type MapIterateOptions, type MapOptions, type PoolChoice, type PoolLease, type SameKind, type SettledItem } from '../map/parallel-map.js'
import type { MapInput } from '../map/source.js'
import { currentPool } from '../worker/context.js'
import { callSink, Compute } from './compute.js'

interface PoolOptions {
  /** The pool to run on. @default a shared pool, started on first use (or one of `workers` threads for this call) */
  compute?: Compute
  /** Run on a pool of this many threads, started for this call and closed after it. */
  workers?: number
}

export interface ParallelMapOptions extends MapOptions, PoolOptions {}

export interface IterateOptions extends MapIterateOptions, PoolOptions {}

export function parallelMap<T, R>(items: MapInput<T>, fn: Mapper<T, R>, options: ParallelMapOptions & { settled: true }): Promise<SettledItem<R>[]>
export function parallelMap<A extends TypedArray>(items: A, fn: Mapper<number, number>, options?: ParallelMapOptions): Promise<SameKind<A>>
export function parallelMap<T, R>(items: MapInput<T>, fn: Mapper<T, R>, options?: ParallelMapOptions): Promise<R[]>
export function parallelMap(items: unknown, fn: unknown, options: ParallelMapOptions = {}): Promise<unknown> {
  return mapOn(choiceOf(options), items, fn, options)
}

/** Results as an async iterable: input order (default) or `{ index, value }` in completion order. */
function iterate<T, R>(items: MapInput<T>, fn: Mapper<T, R>, options: IterateOptions & { ordered: false }): AsyncGenerator<{ index: number; value: R }>
function iterate<T, R>(items: MapInput<T>, fn: Mapper<T, R>, options?: IterateOptions): AsyncGenerator<R>
function iterate(items: unknown, fn: unknown, options: IterateOptions = {}): AsyncGenerator<unknown> {
  return iterateOn(choiceOf(options), items, fn, options)
}

parallelMap.iterate = iterate

const POOL_KEYS = ['compute', 'workers']

function choiceOf(options: PoolOptions): PoolChoice {
  return { keys: POOL_KEYS, lease: () => poolFor(options) }
}

/** The pool for one call: the given one; a fresh one of `workers` threads (closed after); inside a task, the pool the task runs on; else the shared default. */
async function poolFor(options: PoolOptions): Promise<PoolLease> {
  if (options.compute !== undefined && options.workers !== undefined) {
    throw new InvalidOptionError('parallelMap() takes `compute` or `workers`, not both: the pool of `compute` has its own size.')
  }
  if (options.compute !== undefined) return { pool: options.compute[callSink], release: async () => {}, backend: options.compute.backend }
  if (options.workers !== undefined) {
    checkInteger('workers', options.workers, 1)
    const pool = await Compute.start({ workers: options.workers })
    return { pool: pool[callSink], release: () => pool.close(), backend: pool.backend }
  }
  const inTask = currentPool()
  if (inTask !== undefined) return { pool: inTask, release: async () => {} } // a task's fan-out is not traced (see observe/otel.ts)
  const pool = await defaultCompute()
  return { pool: pool[callSink], release: async () => {}, backend: pool.backend }
}

let shared: Promise<Compute> | undefined

function defaultCompute(): Promise<Compute> {
  shared ??= Compute.start().catch((error: unknown) => {
    shared = undefined
    throw error
  })
  return shared
}
