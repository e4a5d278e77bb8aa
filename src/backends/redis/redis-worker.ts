/**
 * A worker that dials in: `spindle worker --redis URL --pool NAME`. It registers in the pool
 * (a heartbeat key renewed every `heartbeatMs`, its id in the pool's set, a `join` entry), reads
 * its request stream, and runs each caller's batches in a session of its own
 * (worker-sessions.ts). Every heartbeat it also checks its callers' heartbeat keys (a caller
 * gone: its session ends) and the broker's run_id (a restarted broker lost the registration,
 * written again at once). A worker that was frozen (SIGSTOP, a VM paused) for longer than its
 * key lives finds, when it wakes, the mark of the caller that lost it: its calls ran elsewhere,
 * so it ends its sessions and joins again as a new worker. `stop()` says it leaves, waits for
 * what it was sent to answer, then removes its keys.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { deserialize, serialize } from 'node:v8'
import type { FromAgent } from '../../protocol/messages.js'
import { connect, reachable, type RedisConnection } from './connect.js'
import { poolKeys, JOINS_KEPT } from './keys.js'
import { followFrames, type Cursor } from './frame-stream.js'
import { KEY_LIFETIME, Liveness } from './liveness.js'
import { WorkerSessions, type CallerFrame } from './worker-sessions.js'
import { ModuleCache } from '../agent/module-cache.js'

export type { Hello } from './worker-sessions.js'

export interface RedisWorkerOptions extends RedisConnection {
  readonly pool: string
  readonly workersPerNode: number
  /** How often the heartbeat is renewed; it expires after three of these. @default 1000 */
  readonly heartbeatMs?: number
  /**
   * Where shipped task modules are kept, by content. Their imports of 'spindle' and of packages
   * resolve from there, so it is inside this installation. @default spindle's own `.cache/tasks/`
   */
  readonly cacheDir?: string
}

const CACHE_DIR = fileURLToPath(new URL('../../../.cache/tasks/', import.meta.url))

export interface RedisWorker {
  /** Its id in the pool (a new one if it was lost and joined again). */
  readonly id: string
  /**
   * Resolves once no caller has had a session on this worker for `ms` (since it started, or
   * since the last one ended): a worker of a batch Job can then leave, its run done.
   */
  idle(ms: number): Promise<void>
  stop(): Promise<void>
}

export async function startRedisWorker(options: RedisWorkerOptions): Promise<RedisWorker> {
  let id = randomUUID()
  const keys = poolKeys(options.pool)
  const heartbeat = options.heartbeatMs ?? 1000
  const commands = connect(options)
  const reader = connect(options)
  // A broker not up yet is waited for (a worker may start before it); a refusal ends the worker.
  await reachable(commands, options.url, keys.worker(id), 2 ** 31 - 1).catch((error: unknown) => {
    commands.disconnect()
    reader.disconnect()
    throw error
  })
  const details = JSON.stringify({ pid: process.pid, host: hostname(), workersPerNode: options.workersPerNode, heartbeatMs: heartbeat })
  /** Renews the heartbeat; true if a caller found it lost meanwhile. */
  const renew = async () => {
    const [, lost] = (await commands.multi().set(keys.worker(id), details, 'PX', heartbeat * KEY_LIFETIME).exists(keys.lost(id)).exec()) ?? []
    return lost?.[1] === 1
  }
  const register = () =>
    commands.multi().set(keys.worker(id), details, 'PX', heartbeat * KEY_LIFETIME).sadd(keys.workers, id).xadd(keys.joins, 'MAXLEN', '~', JOINS_KEPT, '*', 'w', id, 'e', 'join').exec()
  await register()

  const cache = new ModuleCache(options.cacheDir ?? CACHE_DIR)
  /** A shipped module's file, fetched from the pool's store unless the cache has it. */
  const fetchModule = async (path: string) => {
    if (cache.has(path)) return
    const source = await commands.getBuffer(keys.module(path))
    // Left out, the module's calls fail to load it, naming it; this line says why.
    if (source === null) process.stderr.write(`spindle worker: task module ${path} is not in the broker (expired, or the broker restarted)\n`)
    else cache.write(path, source)
  }
  const sessions = new WorkerSessions(
    options.workersPerNode,
    cache,
    (caller, message: FromAgent) => void commands.xadd(keys.outbox(caller), '*', 'w', id, 'm', serialize(message)).catch(() => {}),
    (caller) => void commands.del(keys.outbox(caller)).catch(() => {}),
  )
  let stopping = false
  /** The last entry read from the request stream; from the start again once the broker restarted (it lost the stream). */
  const cursor: Cursor = { last: '0' }
  const liveness = new Liveness(commands, heartbeat, () => {
    cursor.last = '0'
    void register().catch(() => {})
  })
  /** Lost while frozen: what it ran has run elsewhere; it joins again under a new id. */
  const rejoin = async () => {
    const old = id
    id = randomUUID()
    cursor.last = '0'
    await sessions.endAll()
    await commands.del(keys.worker(old), keys.lost(old))
    await register()
  }
  let rejoining: Promise<void> | undefined
  const tick = setInterval(() => {
    if (rejoining !== undefined) return
    void renew().then(
      (lost) => {
        if (lost && !stopping) rejoining = rejoin().catch(() => {}).finally(() => (rejoining = undefined))
      },
      () => {},
    )
    void liveness.missing(sessions.callers, keys.caller).then((gone) => {
      for (const caller of gone) void sessions.end(caller)
    })
  }, heartbeat)

  const loop = followFrames({ reader, commands, key: () => keys.inbox(id), cursor, sender: 'c', blockMs: heartbeat, open: () => !stopping }, async (caller, frame) => {
    const message = deserialize(frame) as CallerFrame
    if (!Array.isArray(message) && 'ship' in message) await fetchModule(message.path).catch((error: Error) => process.stderr.write(`spindle worker: cannot keep task module ${message.path}: ${error.message}\n`))
    sessions.handle(caller, message)
  })

  return {
    get id() {
      return id
    },
    idle(ms) {
      return new Promise((resolve) => {
        let since = performance.now()
        const check = setInterval(() => {
          if (sessions.callers.length > 0) since = performance.now()
          else if (performance.now() - since >= ms) {
            clearInterval(check)
            resolve()
          }
        }, Math.min(heartbeat, ms))
        check.unref()
      })
    },
    async stop() {
      await rejoining
      // Leaving: callers send nothing new once they read this; what they sent before it runs,
      // and the worker goes once every batch has answered (its heartbeat lives until then).
      await commands.xadd(keys.joins, 'MAXLEN', '~', JOINS_KEPT, '*', 'w', id, 'e', 'leave')
      await new Promise((resolve) => setTimeout(resolve, 2 * heartbeat))
      await sessions.drained()
      stopping = true
      clearInterval(tick)
      await sessions.endAll()
      await commands.multi().srem(keys.workers, id).del(keys.worker(id), keys.inbox(id)).exec()
      reader.disconnect()
      await loop
      commands.disconnect()
    },
  }
}
