/**
 * The one place a Redis connection is made, for the caller's backend and for workers alike:
 * every connection of a pool is made with the same options, so a TLS or ACL setting given once
 * holds for all of them. ioredis reads `rediss://` (TLS) and `user:password@` from the URL;
 * a unix socket is given by its path.
 */
import { Redis } from 'ioredis'

export interface RedisConnection {
  /** `redis://[user:password@]host:port[/db]`, `rediss://…` for TLS, or a unix socket's path. */
  readonly url: string
}

/**
 * A new connection. `maxRetriesPerRequest: null`: a command waits while the broker is away
 * (restarting, paused) instead of failing after 20 tries; the backend decides when to give up.
 */
export function connect(options: RedisConnection): Redis {
  const redis = new Redis(options.url, { maxRetriesPerRequest: null })
  // A lost connection is retried by ioredis, and what waits on it is judged by the backend and
  // the worker (liveness.ts); unheard, each retry would print an "Unhandled error event".
  redis.on('error', () => {})
  return redis
}
