/**
 * Compute: a pool of nodes, and the verbs of skyward's `>>`, `gather`, `@`: run, stream,
 * broadcast. It validates, builds the backend, and hands Pending graphs to an Evaluation over
 * the one Dispatcher that every call of this pool goes through.
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter, setMaxListeners } from 'node:events'
import { InvalidOptionError } from '../errors.js'
import { checkOptionsObject } from '../options.js'
import type { Backend } from '../backends/backend.js'
import { BACKENDS } from '../backends/registry.js'
import { Dispatcher } from '../dispatch/dispatcher.js'
import type { OutputSink } from '../dispatch/task-output.js'
import { isPending, type Pending, type TaskRef } from '../task/pending.js'
import type { CallOptions, CallSink } from '../task/call-sink.js'
import type { BackendKind } from '../worker/context.js'
import { Evaluation } from './evaluate.js'
import { loadTracing, TraceParent } from '../observe/otel.js'
import { DispatcherRunner, type StepRunner } from './step-runner.js'
import {
  resolveComputeOptions,
  resolveRunOptions,
  type ComputeOptions,
  type RunOptions,
  type StreamOptions,
} from './options.js'
import { ordered, unordered, type FinishedOf } from './stream.js'
import { mapOn, type Mapper, type MapOptions, type SameKind, type SettledItem } from '../map/parallel-map.js'
import { NodeWatch, type ComputeEvents } from './node-events.js'
import { poolStats, type PoolStats } from './stats.js'
import type { MapInput } from '../map/source.js'
import type { TypedArray } from '../map/outcome.js'
import { ActorRegistry } from '../actors/actor.js'
import type { Actor, ActorArgs, ActorOptions } from '../actors/types.js'
import type { RemoteClass } from '../task/remote.js'

export type { ComputeOptions, RunOptions, StreamOptions }

/** Internal: the pool as a CallSink (parallelMap's chunks). Not exported by index.ts. */
export const callSink: unique symbol = Symbol('spindle.callSink')

/** Internal: `Compute[fromBackend](backend)`, a pool on a backend built elsewhere (tests' fake backends). Not exported by index.ts. */
export const fromBackend: unique symbol = Symbol('spindle.fromBackend')

const runners = new WeakMap<Compute, StepRunner>()

/** The pool's package-internal side, for pipelines and recorders (see StepRunner). Not exported by index.ts. */
export function stepRunner(compute: Compute): StepRunner {
  return runners.get(compute)!
}

/**
 * A pool, and an EventEmitter of its nodes' lives: `compute.on('node', (event) => ...)` hears
 * each node come up, get lost (with why) and be replaced (node-events.ts).
 */
export class Compute extends EventEmitter<ComputeEvents> implements AsyncDisposable {
  /** The same on every node of this pool (`instanceInfo().jobId`). */
  readonly jobId: string
  private readonly dispatcher: Dispatcher
  private closing: Promise<void> | undefined
  private readonly nodeWatch: NodeWatch
  private readonly actorRegistry: ActorRegistry

  private constructor(
    backend: Backend,
    private readonly closeTimeout: number,
    interruptionRetries: number,
    output: OutputSink,
    jobId: string,
    /** Threads per node, over which utilization is shared. */
    private readonly threadsPerNode: number,
    startedAt: number,
  ) {
    super()
    this.jobId = jobId
    this.dispatcher = new Dispatcher(backend, { interruptionRetries, output, joined: (node) => this.nodeWatch.add(node) })
    this.nodeWatch = new NodeWatch(backend, this, startedAt)
    runners.set(this, new DispatcherRunner(this.dispatcher, this.nodeWatch))
    this.actorRegistry = new ActorRegistry(() => this[callSink], BACKENDS[backend.kind].stopsRunningCode)
  }

  /** Starts a pool. With no options: one worker thread per core (`os.availableParallelism()`). */
  static async start(options: ComputeOptions = {}): Promise<Compute> {
    const resolved = resolveComputeOptions(options)
    await loadTracing() // once per process: calls check for a tracer provider only when the API is there
    const startedAt = Date.now() // the pool's start-up, SSH connections included, runs from here
    const jobId = randomUUID()
    const backend = await BACKENDS[resolved.backend].start(resolved, jobId)
    return new Compute(backend, resolved.closeTimeout, resolved.interruptionRetries, resolved.output, jobId, resolved.workersPerNode, startedAt)
  }

  /** @internal See `fromBackend`: Compute.start's options, on `backend` (its own kind and nodes). */
  static [fromBackend](backend: Backend, options: ComputeOptions = {}): Compute {
    const resolved = resolveComputeOptions(options)
    return new Compute(backend, resolved.closeTimeout, resolved.interruptionRetries, resolved.output, randomUUID(), 1, Date.now())
  }

  /** The backend the nodes run on. */
  get backend(): BackendKind {
    return this.dispatcher.backend.kind
  }

  /**
   * How many nodes take part now: what `broadcast` reaches and `shard` divides over. Nodes that
   * left are not counted; one lost for good is, until it leaves (its calls say it is lost).
   */
  get nodes(): number {
    return this.dispatcher.members.size
  }

  /** Runs `pending` (and what it depends on) and gives its value; a gather gives a typed tuple. */
  run<T>(pending: Pending<T>, options: RunOptions = {}): Promise<T> {
    try {
      checkPending(pending, 'run')
      return new Evaluation(this.dispatcher, this.runOptions(options, 'run'), undefined, TraceParent.active()).root(pending)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Yields the results of a gather as they become available: in submission order (default),
   * or with `ordered: false` as they finish, each as `{ index, pending, value }`.
   */
  stream<T>(pending: Pending<T>, options: StreamOptions & { ordered: false }): AsyncGenerator<FinishedOf<T>>
  stream<T>(
    pending: Pending<T>,
    options?: StreamOptions,
  ): AsyncGenerator<T extends readonly unknown[] ? T[number] : T>
  stream(pending: Pending<unknown>, options: StreamOptions = {}): AsyncGenerator<unknown> {
    checkPending(pending, 'stream')
    const callOptions = this.runOptions(options, 'stream')
    // Our own signal too, so that leaving the loop early cancels what is still queued or running.
    const stopper = new AbortController()
    const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, stopper.signal]) : stopper.signal
    setMaxListeners(0, signal) // one listener per call of the batch
    const evaluation = new Evaluation(this.dispatcher, { ...callOptions, signal }, undefined, TraceParent.active())
    const promises = evaluation.items(pending)
    const stop = () => stopper.abort(new Error('stream closed'))
    if (options.ordered === false) {
      const items = pending.kind === 'gather' ? (pending.args as Pending<unknown>[]) : [pending]
      return unordered(promises, items, stop)
    }
    return ordered(promises, stop)
  }

  /** `parallelMap(items, fn, { ...options, compute: this })`: fan-out over an iterable, on this pool, in input order. */
  map<T, R>(items: MapInput<T>, fn: Mapper<T, R>, options: MapOptions & { settled: true }): Promise<SettledItem<R>[]>
  map<A extends TypedArray>(items: A, fn: Mapper<number, number>, options?: MapOptions): Promise<SameKind<A>>
  map<T, R>(items: MapInput<T>, fn: Mapper<T, R>, options?: MapOptions): Promise<R[]>
  async map(items: unknown, fn: unknown, options: MapOptions = {}): Promise<unknown> {
    checkOptionsObject('compute.map()', options)
    for (const key of ['compute', 'workers'] as const) {
      if (key in options) throw new InvalidOptionError(`compute.map() runs on its own pool: it takes no \`${key}\`. Call parallelMap() to choose another.`)
    }
    return mapOn({ keys: [], lease: async () => ({ pool: this[callSink], release: async () => {}, backend: this.backend }) }, items, fn, options)
  }

  /**
   * Runs `pending` exactly once on every node (skyward's `p @ compute`) and gives the results in
   * node order. Its dependencies run once, anywhere, before.
   */
  async broadcast<T>(pending: Pending<T>, options: Omit<RunOptions, 'node'> = {}): Promise<T[]> {
    checkPending(pending, 'broadcast')
    if (pending.kind !== 'call') {
      throw new InvalidOptionError('compute.broadcast() takes one call (t.fn(...)), not a gather. Broadcast each call.')
    }
    if ('node' in options) {
      throw new InvalidOptionError('compute.broadcast() runs on every node: it takes no `node` option.')
    }
    const base = this.runOptions(options, 'broadcast')
    const evaluation = new Evaluation(this.dispatcher, base, undefined, TraceParent.active())
    const runs = this.dispatcher.members.list.map((node) => evaluation.callWith(pending, { ...base, node: node.index }))
    return (await Promise.all(runs)) as T[]
  }

  /** Per-call options checked against the nodes that have joined; `'head'` is the first member. */
  private runOptions(options: StreamOptions, method: string): CallOptions {
    const { backend, members } = this.dispatcher
    return resolveRunOptions(options, backend.nodes.length, method, members.list[0]?.index ?? 0)
  }

  /**
   * Creates `new Class(...args)` on one node and gives a typed handle to it: each method returns
   * a promise of its result, and calls run there in call order (`concurrency` for more at once).
   * Options go after the constructor's arguments: `compute.actor(t.Model, cfg, { node: 2 })`.
   */
  actor<C extends abstract new (...args: never[]) => object>(
    cls: RemoteClass<C>,
    ...args: ActorArgs<C, ActorOptions>
  ): Promise<Actor<InstanceType<C>>> {
    return this.actorRegistry.actor(cls, args) as Promise<Actor<InstanceType<C>>>
  }

  /** One actor per node, in node order (as `broadcast` runs a call): `compute.actors(t.Cache)`. */
  actors<C extends abstract new (...args: never[]) => object>(
    cls: RemoteClass<C>,
    ...args: ActorArgs<C, Omit<ActorOptions, 'node'>>
  ): Promise<Array<Actor<InstanceType<C>>>> {
    return this.actorRegistry.actors(cls, args) as Promise<Array<Actor<InstanceType<C>>>>
  }

  /** Counts, per-node utilization and recent run and wait times, now (a snapshot; see `PoolStats`). Works on a closed pool. */
  stats(): PoolStats {
    return poolStats(this.dispatcher, this.nodeWatch, this.threadsPerNode, this.closing !== undefined)
  }

  /** @internal See `callSink`. Arguments are not checked for cloneability there. */
  get [callSink](): CallSink {
    const { dispatcher } = this
    return {
      nodes: dispatcher.members.size,
      ...BACKENDS[dispatcher.backend.kind].supports,
      submit: (task: TaskRef, args: readonly unknown[], options: CallOptions) =>
        new Promise((resolve, reject) => dispatcher.submit(task, args, options, resolve, reject)),
    }
  }

  /**
   * Stops the pool: its actors are disposed of (their calls not yet sent reject), queued calls
   * reject with ERR_SPINDLE_CLOSED, running ones get `closeTimeout` ms to finish, then every
   * worker is stopped. Safe to call twice.
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.nodeWatch.close()
      // With no actors open the dispatcher closes now, in this call, as before actors.
      const actors = this.actorRegistry.close(this.closeTimeout)
      this.closing = actors === undefined ? this.dispatcher.close(this.closeTimeout) : actors.then(() => this.dispatcher.close(this.closeTimeout))
    }
    return this.closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

function checkPending(pending: unknown, method: string): asserts pending is Pending<unknown> {
  if (isPending(pending)) return
  const many = Array.isArray(pending) && pending.length > 0 && pending.every(isPending)
  throw new InvalidOptionError(
    `compute.${method}() takes a Pending (a call of a remote function, or gather(...)), got ` +
      (many ? `an array of them. Write compute.${method}(gather(...calls)).` : `${typeof pending}. Write compute.${method}(t.fn(args)).`),
  )
}
