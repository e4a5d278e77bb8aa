/**
 * The one place a Redis connection is made, for the caller's backend and for workers alike:
 * every connection of a pool is made with the same options, so a TLS or ACL setting given once
 * holds for all of them. ioredis reads `rediss://` (TLS) and `user:password@` from the URL;
 * a unix socket is given by its path.
 */
import type { ConnectionOptions } from 'node:tls'
import { Redis } from 'ioredis'
import { SpindleError } from '../../errors.js'

export interface RedisConnection {
  /** `redis://[user:password@]host:port[/db]`, `rediss://…` for TLS, or a unix socket's path. */
  readonly url: string
  /** TLS options for a `rediss://` URL (a private CA: `{ ca }`; a client certificate: `{ cert, key }`). */
  readonly tls?: ConnectionOptions | undefined
}

/** Replies that no retry will change: the credentials or the ACL are wrong. */
const REFUSED = /^(WRONGPASS|NOAUTH|NOPERM)\b/

/**
 * The longest wait between two tries to reconnect (ioredis waits up to 2 s by default). Every
 * client of a restarted broker is back within it, so liveness.ts can bound how long keys missing
 * after a fault are doubted.
 */
export const RECONNECT_MAX_MS = 500

/**
 * A new connection. `maxRetriesPerRequest: null`: a command waits while the broker is away
 * (restarting, paused) instead of failing after 20 tries; the backend decides when to give up.
 */
export function connect(options: RedisConnection): Redis {
  const tls = options.tls === undefined ? {} : { tls: options.tls }
  const retryStrategy = (tries: number) => Math.min(tries * 50, RECONNECT_MAX_MS)
  const redis = new Redis(options.url, { maxRetriesPerRequest: null, retryStrategy, ...tls })
  // A lost connection is retried by ioredis, and what waits on it is judged by the backend and
  // the worker (liveness.ts); unheard, each retry would print an "Unhandled error event".
  redis.on('error', () => {})
  return redis
}

/**
 * Resolves once `redis` can run the pool's commands (a first read of `probeKey` allowed), so a wrong URL, password or ACL fails at start, saying so, instead of
 * waiting for ever: a refusal at once (ERR_SPINDLE_REDIS_DENIED), a broker not reached within
 * `timeout` ms with the last connection error (ERR_SPINDLE_REDIS_UNREACHABLE).
 */
export async function reachable(redis: Redis, url: string, probeKey: string, timeout: number): Promise<void> {
  const denied = (reply: string, cause: unknown) =>
    new SpindleError(
      'ERR_SPINDLE_REDIS_DENIED',
      `Redis at ${redacted(url)} refused spindle: ${reply.replace(/\.$/, '')}. Check the user and password in the URL, and that the user's ACL allows the pool's keys (~spindle:{POOL}:*) and the commands spindle sends (+@all, or +@read +@write +@stream +@keyspace +@connection +info).`,
      { cause },
    )
  let last: Error | undefined
  let timer: NodeJS.Timeout | undefined
  let heard: (error: Error) => void = () => {}
  const failed = new Promise<never>((_, reject) => {
    // A refused AUTH comes as a connection error (ioredis keeps trying): it will not get better.
    heard = (error) => (REFUSED.test(error.message) ? reject(denied(error.message, error)) : (last = error))
    timer = setTimeout(() => {
      const why = last === undefined ? 'no answer' : last.message
      reject(new SpindleError('ERR_SPINDLE_REDIS_UNREACHABLE', `Cannot reach Redis at ${redacted(url)} within ${timeout} ms (${why}). Check the URL, that the broker runs, and that this machine can reach it.`))
    }, timeout)
  })
  redis.on('error', heard)
  try {
    // EXISTS on one of the pool's keys: an ACL that does not cover the pool says NOPERM here.
    await Promise.race([redis.exists(probeKey), failed])
  } catch (error) {
    const reply = (error as Error).message ?? ''
    throw REFUSED.test(reply) ? denied(reply, error) : error
  } finally {
    clearTimeout(timer)
    redis.off('error', heard)
  }
}

/** The URL without its password, for messages. */
export function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}
