/**
 * The map on a pool: what parallelMap(items, fn, options) and compute.map() run once the caller
 * has said how to get the pool (compute/parallel-map.ts chooses it; Compute lends itself), as a
 * promise of every result in input order or, for parallelMap.iterate(), an async iterable with
 * bounded read-ahead. Validation and the assembly of results live here; chunking and running
 * live in the engine.
 */
import { InvalidOptionError, NotCloneableError } from '../errors.js'
import { findNotCloneable } from '../protocol/cloneable.js'
import type { Pending, TaskRef } from '../task/pending.js'
import { checkDuration, checkInteger, checkKnownKeys, checkSignal, shown } from '../options.js'
import { mapChunks, type EngineOptions } from './engine.js'
import { fnSpec } from './fn-spec.js'
import type { ChunkOutcome, SharedArrays, TypedArray } from './outcome.js'
import { itemSource, rangeSource, type ItemSource, type MapInput } from './source.js'
import { prepareSpareLater, shareTypedArray } from './shared-memory.js'
import type { CallSink } from '../task/call-sink.js'
import { TraceParent, type TraceSpan } from '../observe/otel.js'
import { taskOf } from '../task/remote.js'
import type { MapItemError } from '../errors.js'

/** A remote function (`t.fn`) or a self-contained function of (item, index). */
export type Mapper<T, R> = (item: T, index: number) => R | PromiseLike<R> | Pending<R>

/** parallelMap's options but the choice of pool (`compute`, `workers`): compute.map() takes these. */
export interface MapOptions {
  /** Items per call, or `'auto'`: the workers measure the cost per item and chunks are sized from it (see the README). @default 'auto' */
  chunkSize?: number | 'auto'
  /**
   * `true`: with `chunkSize: 'auto'`, the calling thread may run items itself where they are too
   * cheap for workers to pay for their sending (it measures them warm after the workers' first
   * items), and takes blocks of a typed array beside the workers. Those items give up what the
   * workers give: isolation (a crash or `process.exit()` there ends the program), `timeout` (so a
   * map with one never runs items here), `instanceInfo()`/`shard()` (they throw there), and the
   * calling thread is busy while they run. Never for async functions, nor on the process and SSH
   * backends. @default false
   */
  callerRuns?: boolean
  /**
   * Items running at once, across the pool, at most (p-map's `concurrency`): a bound for async
   * functions doing I/O, where a chunk would otherwise run all its items at once. An integer ≥ 1,
   * or `Infinity`. @default Infinity (bounded only by the chunks in flight)
   */
  concurrency?: number
  /** Cancels the map: stops pulling items, cancels running chunks, rejects with the signal's reason. */
  signal?: AbortSignal
  /** Deadline per item in ms; a chunk of n items gets n × timeout from its start. */
  timeout?: number
  /** `false`: run every item, then reject with an AggregateError of the failures in input order. @default true */
  stopOnError?: boolean
  /** `true`: never reject for an item; resolve with `{ status, value | reason }` per item. @default false */
  settled?: boolean
  /** Called as items complete, with how many have and the total when known. */
  onProgress?: (done: number, total?: number) => void
  /** Values that a self-contained function may use by name (sent to the workers with each chunk). */
  context?: Record<string, unknown>
}

export interface MapIterateOptions extends Omit<MapOptions, 'settled'> {
  /** `false`: yield `{ index, value }` as items complete. @default true */
  ordered?: boolean
  /** Chunks in flight (or finished but not yet yielded) per node: bounds memory. @default 2 */
  readAhead?: number
}

/** The typed array kind of `A` (its values come back in shared memory, so over any buffer). */
export type SameKind<A extends TypedArray> = A extends Float64Array ? Float64Array
  : A extends Float32Array ? Float32Array
  : A extends Int32Array ? Int32Array
  : A extends Uint32Array ? Uint32Array
  : A extends Int16Array ? Int16Array
  : A extends Uint16Array ? Uint16Array
  : A extends Int8Array ? Int8Array
  : A extends Uint8ClampedArray ? Uint8ClampedArray
  : A extends Uint8Array ? Uint8Array
  : TypedArray

export type SettledItem<R> = { status: 'fulfilled'; value: R } | { status: 'rejected'; reason: MapItemError }

/** Faults in a spare output's pages on a worker (map/worker/map-chunk.ts). */
const TOUCH_TASK: TaskRef = { module: new URL('./worker/map-chunk.js', import.meta.url).href, name: 'touchPages' }

const MAP_KEYS = ['chunkSize', 'callerRuns', 'concurrency', 'signal', 'timeout', 'stopOnError', 'settled', 'onProgress', 'context']

/** The pool one map runs on, and what to do with it after (close a pool started for the map). */
export interface PoolLease {
  readonly pool: CallSink
  /** The pool's backend, as traces name it; undefined for the pool a task runs on (a task's fan-out is not traced: see observe/otel.ts). */
  readonly backend?: string | undefined
  release(): Promise<void>
}

/** How the caller gets the pool: the options it reads for that (beside the map's), and the lease, taken once the options are known to be good. */
export interface PoolChoice {
  readonly keys: readonly string[]
  lease(): Promise<PoolLease>
}

/** parallelMap() on the pool `choice` leases: every result, in input order. */
export async function mapOn(choice: PoolChoice, items: unknown, fn: unknown, options: MapOptions): Promise<unknown> {
  checkKnownKeys('parallelMap()', options, [...choice.keys, ...MAP_KEYS])
  const settled = options.settled === true
  const stopOnError = settled ? false : options.stopOnError !== false
  return withPool(choice, fn, async (compute, traced) => {
    if (isTypedArray(items) && !compute.sharedMemory) {
      // Processes share no memory: the values travel as an array and come back as the same kind.
      const Kind = items.constructor as new (values: unknown[]) => TypedArray
      const values = (await collect(traced, itemSource(Array.from(items)), undefined, fn, options, stopOnError, settled)) as unknown[]
      return settled ? values : new Kind(values)
    }
    const { source, shared } = prepare(items)
    try {
      const result = await collect(traced, source, shared, fn, options, stopOnError, settled)
      // The next typed map of this size finds its output's pages already faulted in.
      if (shared !== undefined && compute.offThread) prepareSpareLater(shared.output.byteLength, (buffer, stop) => compute.submit(TOUCH_TASK, [buffer, stop], {}))
      return result
    } finally {
      shared?.release()
    }
  })
}

async function collect(
  compute: CallSink,
  source: ItemSource,
  shared: SharedArrays | undefined,
  fn: unknown,
  options: MapOptions,
  stopOnError: boolean,
  settled: boolean,
): Promise<unknown> {
    // Preallocated when the length is known: local blocks write straight into it.
    const values: unknown[] = source.total !== undefined && shared === undefined ? new Array(source.total) : []
    const failures: MapItemError[] = []
    const engine = mapChunks(compute, fnSpec(fn, options.context), source, shared, {
      ...engineOptions(options, stopOnError),
      ...(shared === undefined && source.total !== undefined && { output: values }),
    })
    for await (const outcome of engine) {
      if (outcome.values !== undefined) copyInto(values, outcome)
      for (const [, error] of outcome.errors ?? []) {
        if (stopOnError) throw error
        failures.push(error)
      }
    }
    if (settled) return settle(shared?.output ?? values, failures, source.total ?? values.length)
    if (failures.length > 0) {
      failures.sort((a, b) => a.index - b.index)
      throw new AggregateError(failures, `parallelMap: ${failures.length} of ${source.total ?? values.length} items failed`)
    }
    return shared?.output ?? values
}

/** parallelMap.iterate() on the pool `choice` leases: input order (default) or `{ index, value }` in completion order. */
export async function* iterateOn(choice: PoolChoice, items: unknown, fn: unknown, options: MapIterateOptions): AsyncGenerator<unknown> {
  checkKnownKeys('parallelMap.iterate()', options, [...choice.keys, ...MAP_KEYS.filter((k) => k !== 'settled'), 'ordered', 'readAhead'])
  if (options.readAhead !== undefined) checkInteger('readAhead', options.readAhead, 1)
  const ordered = options.ordered !== false
  const held = new Map<number, ChunkOutcome>() // finished chunks waiting for an earlier one (ordered)
  let heldCount = 0
  const compute = await choice.lease()
  const trace = mapTrace(fn, compute.backend, 'parallelMap.iterate')
  let failure: unknown
  try {
    if (isTypedArray(items)) throw new InvalidOptionError('parallelMap.iterate() takes arrays or iterables; map a typed array with parallelMap().')
    const source = itemSource(items)
    const engine = mapChunks(trace?.pool(compute.pool) ?? compute.pool, fnSpec(fn, options.context), source, undefined, {
      ...engineOptions(options, options.stopOnError !== false),
      readAheadPerNode: options.readAhead ?? 2,
      held: () => heldCount,
    })
    let next = 0
    // With stopOnError: false, failed items are not yielded (no value stands in for them): they
    // are thrown together, in input order, once every other item has been.
    const failures: MapItemError[] = []
    for await (const outcome of engine) {
      if (outcome.errors !== undefined && options.stopOnError !== false) throw outcome.errors[0]![1]
      for (const [, error] of outcome.errors ?? []) failures.push(error)
      if (!ordered) {
        const failed = new Set(outcome.errors?.map(([i]) => i))
        for (let i = 0; i < outcome.count; i++) if (!failed.has(i)) yield { index: outcome.start + i, value: outcome.values?.[i] }
        continue
      }
      held.set(outcome.start, outcome)
      heldCount++
      for (let ready = held.get(next); ready !== undefined; ready = held.get(next)) {
        held.delete(next)
        heldCount--
        next += ready.count
        const skip = new Set(ready.errors?.map(([i]) => i))
        for (let i = 0; i < ready.count; i++) if (!skip.has(i)) yield ready.values?.[i]
      }
    }
    if (failures.length > 0) {
      failures.sort((a, b) => a.index - b.index)
      throw new AggregateError(failures, `parallelMap.iterate: ${failures.length} items failed`)
    }
  } catch (error) {
    throw (failure = error)
  } finally {
    trace?.span.end(failure)
    await compute.release()
  }
}

function isTypedArray(items: unknown): items is TypedArray {
  return ArrayBuffer.isView(items) && !(items instanceof DataView) && !(items instanceof BigInt64Array) && !(items instanceof BigUint64Array)
}

function prepare(items: unknown): { source: ReturnType<typeof itemSource>; shared: ReturnType<typeof shareTypedArray> | undefined } {
  if (isTypedArray(items)) {
    const shared = shareTypedArray(items as TypedArray)
    return { source: rangeSource(shared.input.length), shared }
  }
  return { source: itemSource(items), shared: undefined }
}

function copyInto(values: unknown[], outcome: ChunkOutcome): void {
  const source = outcome.values!
  for (let i = 0; i < outcome.count; i++) values[outcome.start + i] = source[i]
}

function settle(values: ArrayLike<unknown>, failures: MapItemError[], total: number): Array<SettledItem<unknown>> {
  const out: Array<SettledItem<unknown>> = Array.from({ length: total }, (_, i) => ({ status: 'fulfilled', value: values[i] }))
  for (const failure of failures) out[failure.index] = { status: 'rejected', reason: failure }
  return out
}

function engineOptions(options: MapOptions, stopOnError: boolean): EngineOptions {
  const { chunkSize = 'auto', callerRuns = false, concurrency = Infinity, signal, timeout, onProgress, context } = options
  if (chunkSize !== 'auto') checkInteger('chunkSize', chunkSize, 1)
  if (concurrency !== Infinity) checkInteger('concurrency', concurrency, 1)
  if (typeof callerRuns !== 'boolean') throw new InvalidOptionError(`Expected \`callerRuns\` to be a boolean, got ${shown(callerRuns)}`)
  if (signal !== undefined) checkSignal('signal', signal)
  if (timeout !== undefined) checkDuration('timeout', timeout)
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidOptionError('Expected `onProgress` to be a function')
  if (context !== undefined && (context === null || typeof context !== 'object')) {
    throw new InvalidOptionError('Expected `context` to be an object whose keys the function uses by name')
  }
  // Checked once, thoroughly: it travels with every chunk, and a chunk would fail for it.
  const bad = context === undefined ? undefined : findNotCloneable(context, 'context', true)
  if (bad !== undefined) {
    throw new NotCloneableError(
      `parallelMap's context cannot be sent to the workers: ${bad.path} is ${bad.what}. ` +
        'Put data in context; code the function needs belongs in a task module (remote()).',
      bad.path,
    )
  }
  return { chunkSize, callerRuns, concurrency, signal, timeout, stopOnError, context, onProgress }
}

/** `run(pool, traced)`: `traced` is the pool whose calls are spans under the map's span, when tracing is on; else the pool. */
async function withPool<T>(choice: PoolChoice, fn: unknown, run: (compute: CallSink, traced: CallSink) => Promise<T>): Promise<T> {
  const { pool, release, backend } = await choice.lease()
  const trace = mapTrace(fn, backend, 'parallelMap')
  let failure: unknown
  try {
    return await run(pool, trace?.pool(pool) ?? pool)
  } catch (error) {
    throw (failure = error)
  } finally {
    trace?.span.end(failure)
    await release()
  }
}

/** Where tracing is on (a caller's pool: `backend` set), the map's span, and its pool whose chunks are spans under it. */
function mapTrace(fn: unknown, backend: string | undefined, method: string): { span: TraceSpan; pool: (pool: CallSink) => CallSink } | undefined {
  const parent = backend === undefined ? undefined : TraceParent.active()
  if (parent === undefined) return undefined
  const task = taskOf(fn) ?? { name: typeof fn === 'function' && fn.name !== '' ? fn.name : 'inline function' }
  const target = { task, backend: backend! }
  const span = parent.span(`spindle.${method} ${task.name}`, { 'spindle.task.name': task.name, 'spindle.task.module': (task as Partial<TaskRef>).module, 'spindle.backend': backend })
  return { span, pool: (pool) => span.parent.sink(pool, target) }
}
