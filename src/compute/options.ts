import { availableParallelism } from 'node:os'
import type { ResourceLimits } from 'node:worker_threads'
import { InvalidOptionError, SpindleError } from '../errors.js'
import { checkDuration, checkInteger, checkKnownKeys, checkOneOf, checkOptionsObject, checkSignal, shown } from '../options.js'
import type { OutputSink } from '../dispatch/task-output.js'
import type { CallOptions } from '../task/call-sink.js'
import type { SshHost, SshOptions } from '../backends/ssh/hosts.js'
import type { RedisOptions } from '../backends/redis/redis-options.js'
import { BACKEND_KINDS, BACKENDS, refusal, type NodeSettings } from '../backends/registry.js'
import type { BackendKind } from '../worker/context.js'

export type BackendName = BackendKind
export type { SshHost, SshOptions }

export interface ComputeOptions {
  /**
   * Where calls run: `'thread'` (worker threads in this process, on Piscina), `'process'` (child
   * processes, each a node running `workersPerNode` threads), `'ssh'` (one node per host in
   * `hosts`, each running `workersPerNode` threads) or `'inline'` (this thread, one batch at a
   * time: for debugging).
   * @default 'thread'
   */
  backend?: BackendName
  /** Threads in each node of the process and SSH backends, and in each worker the Redis backend starts on `hosts`. @default 1 */
  workersPerNode?: number
  /**
   * The SSH backend's hosts, one node each: `'user@host[:port]'` strings (or ~/.ssh/config
   * aliases) or objects with an identity file, port, extra ssh arguments, ... On the Redis
   * backend: a worker of `pool` started on each over SSH, which dials in to `redis.url` (so that
   * URL must be reachable from the hosts) and leaves when the pool closes.
   */
  hosts?: Array<string | SshHost>
  /** The SSH backend's heartbeat, connection timeout and reconnection, and settings for every host (the Redis backend's `hosts` too). */
  ssh?: SshOptions
  /** The Redis backend's broker: `{ url, tls?, heartbeatMs? }`. Its nodes are the workers of `pool` that dial in. */
  redis?: RedisOptions
  /** The Redis backend's pool: the name its workers were started with (`spindle worker --pool`). */
  pool?: string
  /** The Redis backend: `start()` waits for this many workers to join. @default 0, or the number of `hosts` */
  minNodes?: number
  /** The Redis backend: ms `start()` waits for `minNodes` before failing. @default 60000 */
  startTimeout?: number
  /**
   * Number of nodes: worker threads, or processes. Ignored by `'inline'`, which has one.
   * @default os.availableParallelism() (the calling thread mostly waits: it sends and receives)
   */
  workers?: number
  /**
   * How many times a call is run again after the worker running it was lost (not counting
   * errors the task throws, which are never retried here).
   * @default 3
   */
  interruptionRetries?: number
  /**
   * How long `close()` lets running calls finish before their workers are stopped, in ms.
   * @default 10_000
   */
  closeTimeout?: number
  /** Memory limits for each worker thread (Node's `resourceLimits`). */
  resourceLimits?: ResourceLimits
  /** Environment of the worker threads. @default process.env */
  env?: Record<string, string>
  /** Node flags of the worker threads. @default process.execArgv (so `tsx` carries over) */
  execArgv?: string[]
  /**
   * Where the lines tasks print go, whole and prefixed with what printed them
   * (`[featA · thread 1] ...`): streams with a `write` method (the inline backend's tasks share
   * this thread's streams, and print there directly).
   * @default { stdout: process.stdout, stderr: process.stderr }
   */
  output?: OutputSink
}

export interface RunOptions {
  /** Cancels the run: queued calls are dropped, running ones stopped; the promise rejects with the reason. */
  signal?: AbortSignal
  /** Deadline for each call, in ms from the moment it starts running; the work is stopped at it. */
  timeout?: number
  /** Run on this node only: an index in `[0, nodes)` or `'head'` (node 0). */
  node?: number | 'head'
}

export interface StreamOptions extends RunOptions {
  /** `true`: results in submission order; `false`: as they finish, each with its index. @default true */
  ordered?: boolean
}

const COMPUTE_KEYS = ['backend', 'workers', 'workersPerNode', 'hosts', 'ssh', 'redis', 'pool', 'minNodes', 'startTimeout', 'interruptionRetries', 'closeTimeout', 'resourceLimits', 'env', 'execArgv', 'output']
const RUN_KEYS = ['signal', 'timeout', 'node']

/** Checked, with defaults: the node settings a backend starts from, and the pool's own. */
export interface ResolvedComputeOptions extends NodeSettings {
  backend: BackendName
  interruptionRetries: number
  closeTimeout: number
  output: OutputSink
}

/** Options a kind that does not take them refuses; the rest are left unused there (registry.ts). */
const SHAPE_OPTIONS = ['workersPerNode', 'workers', 'hosts', 'ssh', 'redis', 'pool', 'minNodes', 'startTimeout'] as const

export function resolveComputeOptions(options: ComputeOptions): ResolvedComputeOptions {
  checkKnownKeys('Compute.start()', options, COMPUTE_KEYS)
  const { backend = 'thread', workers = availableParallelism() } = options
  const { interruptionRetries = 3, closeTimeout = 10_000 } = options
  checkOneOf('backend', backend, BACKEND_KINDS)
  checkInteger('workers', workers, 1)
  const { workersPerNode = 1 } = options
  checkInteger('workersPerNode', workersPerNode, 1)
  // The options that shape nodes, refused where the kind has no use for them (registry.ts).
  for (const option of SHAPE_OPTIONS) {
    const refused = options[option] === undefined ? undefined : refusal(backend, option)
    if (refused !== undefined) throw new InvalidOptionError(refused)
  }
  const entry = BACKENDS[backend]
  const settings = { workers, hosts: [], ssh: undefined, redis: undefined, ...entry.resolve?.(options) }
  checkInteger('interruptionRetries', interruptionRetries, 0)
  checkDuration('closeTimeout', closeTimeout, true)
  return {
    backend,
    workers: entry.nodes?.(settings) ?? workers,
    workersPerNode,
    interruptionRetries,
    closeTimeout,
    resourceLimits: options.resourceLimits,
    env: options.env,
    execArgv: options.execArgv,
    hosts: settings.hosts,
    ssh: settings.ssh,
    redis: settings.redis,
    output: resolveOutput(options.output),
  }
}

function resolveOutput(output: OutputSink | undefined): OutputSink {
  if (output === undefined) return { stdout: process.stdout, stderr: process.stderr }
  const stream = (name: 'stdout' | 'stderr') => (output as Partial<OutputSink> | null)?.[name]
  for (const name of ['stdout', 'stderr'] as const) {
    if (typeof stream(name)?.write !== 'function') {
      throw new InvalidOptionError(`Expected \`output.${name}\` to be a stream with a write() method (process.${name}, a Writable), got ${shown(stream(name))}`)
    }
  }
  return output
}

/** Checks per-call options against the pool's `nodes` (indices joined so far), turning `'head'` into the `head` node's (the first member's). */
export function resolveRunOptions(options: StreamOptions, nodes: number, method: string, head = 0): CallOptions {
  if (typeof options !== 'object' || options === null) checkOptionsObject(`compute.${method}()`, options)
  if (isEmpty(options)) return NO_OPTIONS // the common case, on the hot path of every run()
  checkKnownKeys(`compute.${method}()`, options, method === 'stream' ? [...RUN_KEYS, 'ordered'] : RUN_KEYS)
  const { signal, timeout, node } = options
  if (signal !== undefined) checkSignal('signal', signal)
  if (timeout !== undefined) checkDuration('timeout', timeout)
  const index = node === 'head' ? head : node
  if (index !== undefined) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= nodes) {
      throw new SpindleError(
        'ERR_SPINDLE_NO_SUCH_NODE',
        `There is no node ${JSON.stringify(node)}: this pool has ${nodes} node${nodes === 1 ? '' : 's'} ` +
          `(0 to ${nodes - 1}, or 'head'). Pin to one of those, or start the pool with more workers.`,
      )
    }
  }
  return { signal, timeout, node: index }
}

const NO_OPTIONS: CallOptions = Object.freeze({})

function isEmpty(options: object): boolean {
  for (const _ in options) return false
  return true
}
