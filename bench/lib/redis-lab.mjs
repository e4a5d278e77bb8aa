// A throw-away redis-server on 127.0.0.1 for the Redis bench, and the worker processes that
// dial in to it: spindle's (dist/backends/redis/worker-main.js, what `spindle worker` runs) and
// BullMQ's (fixtures/bullmq-worker.mjs). Loopback TCP, not a unix socket, since that is how a
// broker on another machine is reached; nothing is saved (`--save '' --appendonly no`).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { freePort } from './harness.mjs'

const SPINDLE_WORKER = new URL('../../dist/backends/redis/worker-main.js', import.meta.url).pathname
const BULLMQ_WORKER = new URL('../fixtures/bullmq-worker.mjs', import.meta.url).pathname

/**
 * Resolves with `child`'s first stdout line (its id, or 'ready') and the line reader, which goes
 * on reading (so the pipe never fills); rejects if the child exits first.
 */
function firstLine(child, what) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout })
    lines.once('line', (line) => resolve({ line: line.trim(), lines }))
    child.once('error', reject)
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready`)))
  })
}

const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve)))

/** Ends a child: `signal`, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child, signal = 'SIGTERM', graceMs = 10_000) {
  const gone = exited(child)
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await gone
  clearTimeout(timer)
}

export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-bench-redis-'))
  const port = await freePort()
  const server = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  // Its log says when it listens: no polling for the port.
  await new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stdout })
    lines.on('line', (line) => line.includes('Ready to accept connections') && (lines.close(), resolve()))
    server.once('error', reject)
    server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: is it installed (apt-get install redis-server)?`)))
  })
  server.stdout.resume() // its later log lines must not fill the pipe
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** ioredis options for BullMQ (it needs `maxRetriesPerRequest: null` on workers). */
    connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null },
    async stop() {
      await stopChild(server)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A spindle worker process in `pool` (one thread); resolves once it has joined, with its id. */
export async function spawnSpindleWorker(url, pool, { threads = 1, heartbeatMs = 1000 } = {}) {
  const env = { ...process.env, SPINDLE_REDIS_HEARTBEAT_MS: String(heartbeatMs) }
  const child = spawn(process.execPath, [SPINDLE_WORKER, url, pool, String(threads)], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const { line } = await firstLine(child, 'spindle worker')
  return { child, id: line }
}

/**
 * A BullMQ Worker (concurrency 1) in a child process on `queue`; resolves once it is connected,
 * with its stdout lines (`reportActive`: 'active <job id>' as each job starts).
 */
export async function spawnBullWorker(port, queue, { reportActive = false } = {}) {
  const args = [BULLMQ_WORKER, String(port), queue, ...(reportActive ? ['report-active'] : [])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const { lines } = await firstLine(child, 'BullMQ worker')
  return { child, lines }
}
