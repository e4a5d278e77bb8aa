/**
 * The Redis keys of one pool (`pool`: the name callers and workers share). Every key carries the
 * pool in a hash tag (`{batch}`), so on Redis Cluster a pool lives on one shard.
 *
 * - `workers`: a set of the ids of workers that have joined; `w:<id>` is a worker's heartbeat
 *   (its details, expiring unless renewed): a worker whose key has gone is lost.
 * - `w:<id>:in`: a worker's request stream: entries `c` (the caller's id) and `m` (a frame).
 * - `w:<id>:lost`: written by a caller that found the worker's heartbeat gone: a worker that was
 *   only frozen reads it when it wakes, and joins again under a new id.
 * - `c:<id>`: a caller's heartbeat: a caller whose key has gone died, and its sessions end.
 * - `c:<id>:out`: a caller's reply stream: entries `w` (the worker's id) and `m` (a frame).
 * - `m:<hash>/<name>`: a task module's source (agent/module-frames.ts), stored once by content for
 *   every worker of the pool, expiring MODULE_LIFETIME_MS after a caller last stored it.
 * - `joins`: workers joining (`e` join) and leaving (`e` leave), which callers follow.
 *
 * Streams do not grow: each request and reply stream has one reader, which trims what it has
 * read; `joins` keeps about its last JOINS_KEPT entries (a caller reads it from when it starts).
 */
export const JOINS_KEPT = 1000

/** How long a task module's source stays in the broker after a caller stored it (one hour). */
export const MODULE_LIFETIME_MS = 3_600_000

/** How long a lost worker's `lost` mark is kept, in heartbeats: a worker frozen for longer is not told. */
export const LOST_KEPT = 600

export interface PoolKeys {
  readonly workers: string
  readonly joins: string
  worker(id: string): string
  caller(id: string): string
  inbox(id: string): string
  lost(id: string): string
  module(path: string): string
  outbox(id: string): string
}

const POOL_NAME = /^[A-Za-z0-9_.:-]{1,100}$/

export function poolKeys(pool: string): PoolKeys {
  if (!POOL_NAME.test(pool)) throw new TypeError(`A pool name is 1 to 100 letters, digits, '_', '.', ':' or '-', got ${JSON.stringify(pool)}`)
  const p = `spindle:{${pool}}:`
  return {
    workers: `${p}workers`,
    joins: `${p}joins`,
    worker: (id) => `${p}w:${id}`,
    caller: (id) => `${p}c:${id}`,
    inbox: (id) => `${p}w:${id}:in`,
    lost: (id) => `${p}w:${id}:lost`,
    module: (path) => `${p}m:${path}`,
    outbox: (id) => `${p}c:${id}:out`,
  }
}

/** The frames of one stream entry read as buffers: `[field, value, field, value, ...]`. */
export function field(fields: Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1]
  return undefined
}
