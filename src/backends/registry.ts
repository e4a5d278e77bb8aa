/**
 * Every backend kind, once: how to start its nodes, which of the pool's options it takes, and
 * what its nodes can do. Compute starts pools from here and its option checks (and their
 * messages) read here; the CLI and ParallelExecutor list kinds from here. A new backend is its
 * own folder, its name in `BackendKind` (worker/context.ts: tasks read it), and one entry below.
 */
import type { ResourceLimits } from 'node:worker_threads'
import type { CallSink } from '../task/call-sink.js'
import type { BackendKind } from '../worker/context.js'
import type { Backend } from './backend.js'
import { startInlineBackend } from './inline/inline-backend.js'
import { startProcessBackend } from './process/process-backend.js'
import { resolveHosts, resolveSshOptions, type ResolvedHost, type ResolvedSshOptions, type SshHost, type SshOptions } from './ssh/hosts.js'
import { startSshBackend } from './ssh/ssh-backend.js'
import { startThreadBackend } from './thread/thread-backend.js'
import { startRedisBackend } from './redis/redis-backend.js'
import { resolveLaunch, resolveRedisOptions, type RedisOptions, type ResolvedRedisOptions } from './redis/redis-options.js'
import { startRedisBackendOnHosts } from './redis/ssh-launch.js'

/** The pool options that say what nodes are made of; each kind takes some of them. */
export type NodeOption = 'workers' | 'workersPerNode' | 'hosts' | 'ssh' | 'redis' | 'pool' | 'minNodes' | 'startTimeout' | 'resourceLimits' | 'env' | 'execArgv'

/** The node options as given (Compute.start()'s). */
export interface GivenNodeOptions {
  readonly workers?: number | undefined
  readonly workersPerNode?: number | undefined
  readonly hosts?: Array<string | SshHost> | undefined
  readonly ssh?: SshOptions | undefined
  readonly redis?: RedisOptions | undefined
  readonly pool?: string | undefined
  readonly minNodes?: number | undefined
  readonly startTimeout?: number | undefined
}

/** The node options checked, with their defaults: what a kind's `start` reads. */
export interface NodeSettings {
  /** The number of nodes (for SSH: of hosts). */
  readonly workers: number
  readonly workersPerNode: number
  readonly hosts: ResolvedHost[]
  readonly ssh: ResolvedSshOptions | undefined
  readonly redis: ResolvedRedisOptions | undefined
  readonly resourceLimits: ResourceLimits | undefined
  readonly env: Record<string, string> | undefined
  readonly execArgv: string[] | undefined
}

/**
 * What a kind's nodes can do, as its pool's CallSink says (task/call-sink.ts). Room here for
 * what is to come: stateful actors will be a capability too.
 */
export type BackendSupport = Pick<CallSink, 'sharedMemory' | 'offThread' | 'partialResults'>

export interface BackendEntry {
  /** Its name in messages: "the SSH backend". */
  readonly title: string
  /**
   * The node options it accepts. Given one it does not take among `workers`, `workersPerNode`,
   * `hosts`, `ssh`, Compute.start() refuses it; `resourceLimits`, `env` and `execArgv` are
   * applied where taken and otherwise left unused, as they always were.
   */
  readonly takes: readonly NodeOption[]
  /** Said instead of the usual refusal, per option; `takers` names the backends that take it. */
  readonly refuses?: Partial<Record<NodeOption, (takers: string) => string>>
  readonly supports: BackendSupport
  /** Whether stopping a call ends its code (a timeout stops an actor's worker): not inline's, which runs on the caller's thread. */
  readonly stopsRunningCode: boolean
  /** The options it alone reads, checked (the SSH backend's hosts). */
  resolve?(given: GivenNodeOptions): Partial<NodeSettings>
  /** How many nodes a pool of `workers` has, when that is not `workers`. */
  nodes?(settings: Pick<NodeSettings, 'workers' | 'hosts'>): number
  start(settings: NodeSettings, jobId: string): Backend | Promise<Backend>
}

/** A thread or inline node is one thread: workersPerNode says nothing there. */
const oneThread = (kind: string) => (takers: string) => `\`workersPerNode\` is for ${takers}; a ${kind} node is one thread. Use \`workers\`.`

/** In the order messages list them. */
export const BACKENDS: { readonly [K in BackendKind]: BackendEntry } = {
  thread: {
    title: 'thread',
    takes: ['workers', 'resourceLimits', 'env', 'execArgv'],
    refuses: { workersPerNode: oneThread('thread') },
    supports: { sharedMemory: true, offThread: true },
    stopsRunningCode: true,
    start: (s, jobId) => startThreadBackend(s.workers, jobId, s),
  },
  process: {
    title: 'process',
    takes: ['workers', 'workersPerNode', 'resourceLimits', 'execArgv'],
    // Memory is not shared across processes; a long chunk's results sent ahead outlive its agent.
    supports: { sharedMemory: false, partialResults: true },
    stopsRunningCode: true,
    start: (s, jobId) => startProcessBackend(s.workers, s.workersPerNode, jobId, s),
  },
  ssh: {
    title: 'SSH',
    takes: ['workersPerNode', 'hosts', 'ssh', 'resourceLimits'],
    refuses: { workers: () => '`workers` is not for the SSH backend: it has one node per host. List them in `hosts`, and set `workersPerNode`.' },
    supports: { sharedMemory: false, partialResults: true },
    stopsRunningCode: true,
    resolve: (given) => ({ ssh: resolveSshOptions(given.ssh), hosts: resolveHosts(given.hosts, given.ssh) }),
    nodes: (s) => s.hosts.length,
    start: (s, jobId) => startSshBackend(s.hosts, s.ssh!, s.workersPerNode, jobId, s.resourceLimits),
  },
  redis: {
    title: 'Redis',
    // hosts, ssh, workersPerNode: workers the caller starts over SSH (redis/ssh-launch.ts); the
    // others say how many threads they run (spindle worker --workers-per-node).
    takes: ['redis', 'pool', 'minNodes', 'startTimeout', 'hosts', 'ssh', 'workersPerNode'],
    supports: { sharedMemory: false, partialResults: true },
    stopsRunningCode: true,
    resolve: (given) => {
      const launch = resolveLaunch(given)
      // Started on hosts, the pool waits for their workers unless told otherwise.
      return { ...launch, redis: resolveRedisOptions(given.redis, given.pool, given.minNodes ?? launch.hosts.length, given.startTimeout) }
    },
    nodes: () => 0, // the workers that dial in
    start: (s, jobId) => (s.hosts.length > 0 ? startRedisBackendOnHosts({ ...s.redis!, jobId }, s.hosts, s.ssh!, s.workersPerNode) : startRedisBackend({ ...s.redis!, jobId })),
  },
  inline: {
    title: 'inline',
    takes: ['workers'], // and ignores it: one node
    refuses: { workersPerNode: oneThread('inline') },
    supports: { sharedMemory: true },
    stopsRunningCode: false,
    nodes: () => 1,
    start: (_, jobId) => startInlineBackend(jobId),
  },
}

export const BACKEND_KINDS = Object.keys(BACKENDS) as BackendKind[]

/** The kinds that start with nothing but their defaults (no hosts to name): what ParallelExecutor starts itself. */
export type LocalKind = Exclude<BackendKind, 'ssh' | 'redis'>
export const LOCAL_KINDS = BACKEND_KINDS.filter((kind): kind is LocalKind => !takes(kind, 'hosts') && !takes(kind, 'redis'))

/** How many nodes a pool of a local kind started with `workers` has (inline: one). */
export function localNodes(kind: LocalKind, workers: number): number {
  return BACKENDS[kind].nodes?.({ workers, hosts: [] }) ?? workers
}

/** Whether each node of `kind` runs one call at a time (it has no `workersPerNode`). */
export function oneCallPerNode(kind: BackendKind): boolean {
  return !takes(kind, 'workersPerNode')
}

/** Whether `kind` accepts the node option `option` (false for a kind there is not: a resumed run's, say). */
export function takes(kind: BackendKind, option: NodeOption): boolean {
  return (BACKENDS as Partial<typeof BACKENDS>)[kind]?.takes.includes(option) ?? false
}

/** The kinds that accept `option`, in order. */
export function takersOf(option: NodeOption): BackendKind[] {
  return BACKEND_KINDS.filter((kind) => takes(kind, option))
}

/** Why `kind` refuses `option`, in the user's words, or undefined when it takes it. */
export function refusal(kind: BackendKind, option: NodeOption): string | undefined {
  if (takes(kind, option)) return undefined
  const takers = takersOf(option)
  const names = takers.map((k) => BACKENDS[k].title)
  const phrase = `the ${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)} backends` : `${names[0]} backend`}`
  const custom = BACKENDS[kind].refuses?.[option]
  if (custom !== undefined) return custom(phrase)
  return `\`${option}\` is for ${phrase}.${takers.length === 1 ? ` Add \`backend: '${takers[0]}'\`.` : ''}`
}
