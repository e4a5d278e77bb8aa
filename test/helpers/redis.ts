// A redis-server of a test's own, on a unix socket in a temp directory (nothing on the network,
// nothing saved), stopped after the test file. SPINDLE_REQUIRE_REDIS=1 (CI) makes a missing
// redis-server a failure instead of a skip. `shutdown()` then `serve()` is the broker fault the
// issue names: `SHUTDOWN NOSAVE` (every key and stream lost), then a new server on the same socket.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

const installed = spawnSync('redis-server', ['--version']).status === 0
export const runRedisTests = installed || process.env.SPINDLE_REQUIRE_REDIS === '1'

export interface RedisLab {
  readonly url: string
  /** A connection of the test's own (to look at keys, pause the server), closed with the lab. */
  readonly admin: Redis
  /** `SHUTDOWN NOSAVE`: every key and stream is lost. */
  shutdown(): Promise<void>
  /** A new server on the same socket (after `shutdown()`). */
  serve(): Promise<void>
  stop(): Promise<void>
}

export async function startRedisLab(): Promise<RedisLab> {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-redis-'))
  const socket = join(dir, 'redis.sock')
  const serve = async (): Promise<ChildProcess> => {
    rmSync(socket, { force: true })
    const server = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
    for (let i = 0; i < 500 && !existsSync(socket); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    if (!existsSync(socket)) throw new Error('redis-server did not start')
    return server
  }
  let server = await serve()
  const admin = new Redis(socket, { maxRetriesPerRequest: null }).on('error', () => {}) // it reconnects after a restart
  const exited = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))
  return {
    url: socket, // ioredis takes a unix socket by its path
    admin,
    async shutdown() {
      const gone = exited(server)
      // On a connection of its own that does not reconnect: one that did would send SHUTDOWN
      // again to the next server (a command cut off by its connection is resent).
      const once = new Redis(socket, { retryStrategy: () => null, autoResendUnfulfilledCommands: false }).on('error', () => {})
      once.call('SHUTDOWN', 'NOSAVE').catch(() => {}) // the connection closes under it
      await gone
      once.disconnect()
    },
    async serve() {
      server = await serve()
      await admin.ping() // reconnected
    },
    async stop() {
      admin.disconnect()
      const gone = exited(server)
      server.kill('SIGTERM')
      await gone
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const WORKER_MAIN = new URL('../../dist/backends/redis/worker-main.js', import.meta.url).pathname

export interface WorkerProcess {
  readonly child: ChildProcess
  /** The worker's id in the pool (the first line it prints). */
  readonly id: string
}

/** `spindle worker` as its own process (dist/backends/redis/worker-main.js), with heartbeats every `heartbeatMs`. */
export function spawnRedisWorker(url: string, pool: string, { threads = 1, heartbeatMs = 200, env = {} as Record<string, string> } = {}): Promise<WorkerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER_MAIN, url, pool, String(threads)], { env: { ...process.env, SPINDLE_REDIS_HEARTBEAT_MS: String(heartbeatMs), ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    child.stdout!.once('data', (chunk: Buffer) => resolve({ child, id: chunk.toString().trim() }))
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it joined`)))
  })
}
