/**
 * The Redis backend's options: where the broker is, which pool of workers to use, and, with
 * `hosts`, the hosts on which the caller starts workers of its own over SSH (ssh-launch.ts).
 */
import type { ConnectionOptions } from 'node:tls'
import { InvalidOptionError } from '../../errors.js'
import { resolveHosts, resolveSshOptions, type ResolvedHost, type ResolvedSshOptions, type SshHost, type SshOptions } from '../ssh/hosts.js'

export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]`, `rediss://…` for TLS, or a unix socket's path. */
  readonly url: string
  /** TLS options for a `rediss://` URL: `{ ca }` for a private CA, `{ cert, key }` for a client certificate. */
  readonly tls?: ConnectionOptions
  /** How often workers' heartbeats are checked, in ms; a worker is lost once its key expires. @default 1000 */
  readonly heartbeatMs?: number
}

export interface ResolvedRedisOptions {
  readonly url: string
  readonly tls: ConnectionOptions | undefined
  readonly pool: string
  readonly heartbeatMs: number
  /** Compute.start() waits for this many workers (Dask's wait_for_workers). */
  readonly minNodes: number
  /** ms it waits for them before failing. */
  readonly startTimeout: number
}

export function resolveRedisOptions(redis: RedisOptions | undefined, pool: string | undefined, minNodes = 0, startTimeout = 60_000): ResolvedRedisOptions {
  if (typeof redis !== 'object' || redis === null || typeof redis.url !== 'string' || redis.url === '') {
    throw new InvalidOptionError("The Redis backend needs `redis: { url }` (for example `redis: { url: 'redis://queue:6379' }`).")
  }
  if (typeof pool !== 'string' || pool === '') {
    throw new InvalidOptionError("The Redis backend needs `pool`: the name its workers were started with (`spindle worker --pool NAME`).")
  }
  const heartbeatMs = redis.heartbeatMs ?? 1000
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 10) throw new InvalidOptionError(`Expected \`redis.heartbeatMs\` to be an integer >= 10, got ${String(heartbeatMs)}`)
  if (!Number.isInteger(minNodes) || minNodes < 0) throw new InvalidOptionError(`Expected \`minNodes\` to be an integer >= 0, got ${String(minNodes)}`)
  if (!Number.isFinite(startTimeout) || startTimeout <= 0) throw new InvalidOptionError(`Expected \`startTimeout\` to be a number of ms > 0, got ${String(startTimeout)}`)
  if (redis.tls !== undefined && (typeof redis.tls !== 'object' || redis.tls === null)) throw new InvalidOptionError('Expected `redis.tls` to be the options of tls.connect() (for example `{ ca }`).')
  return { url: redis.url, tls: redis.tls, pool, heartbeatMs, minNodes, startTimeout }
}

export interface GivenLaunch {
  readonly hosts?: Array<string | SshHost> | undefined
  readonly ssh?: SshOptions | undefined
  readonly workersPerNode?: number | undefined
}

/**
 * `hosts`, checked as the SSH backend checks them, with `ssh` for their connections and
 * `workersPerNode` for their workers' threads; both are refused without `hosts` (workers that
 * dial in of their own say how many threads they run). Reconnection is the SSH backend's: a
 * worker whose host was lost leaves the pool, and another may join.
 */
export function resolveLaunch(given: GivenLaunch): { hosts: ResolvedHost[]; ssh: ResolvedSshOptions | undefined } {
  if (given.hosts === undefined) {
    for (const option of ['ssh', 'workersPerNode'] as const) {
      if (given[option] !== undefined) {
        throw new InvalidOptionError(
          `\`${option}\` on the Redis backend is for the workers it starts over SSH on \`hosts\`: add \`hosts\`, or leave \`${option}\` out ` +
            '(a worker started with `spindle worker` says its threads with `--workers-per-node`).',
        )
      }
    }
    return { hosts: [], ssh: undefined }
  }
  if (given.ssh?.reconnect !== undefined && given.ssh.reconnect !== false) {
    throw new InvalidOptionError('`ssh.reconnect` is for the SSH backend: on the Redis backend a worker whose host is lost leaves the pool, and is not started again.')
  }
  return { ssh: resolveSshOptions(given.ssh), hosts: resolveHosts(given.hosts, given.ssh) }
}
