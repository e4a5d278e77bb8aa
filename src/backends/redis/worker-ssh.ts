/**
 * A Redis worker that a caller started over SSH (ssh-launch.ts): the SSH bootstrap
 * (ssh/command.ts) imports this file from the uploaded bundle in place of the node agent. It
 * speaks the agent's frames only to start and to stay alive: its configuration arrives as the
 * first frame on stdin (so the broker's URL, which may hold a password, is on no command line),
 * it answers `ready` once it has joined the pool, and then both sides send heartbeats. Its calls
 * come through Redis like any worker's: it is an ordinary member of the pool.
 *
 * It leaves the pool when the caller that started it is gone: stdin ends (the caller closed its
 * pool, or died, and the SSH connection closed) or nothing has come for `callerTimeout` (a dead
 * link TCP has not noticed). Leaving finishes what it began (redis-worker.ts `stop()`), then exits.
 */
import { hostname } from 'node:os'
import { encodeFrame, FrameReader, PROTOCOL, type ReadyFrame } from '../ssh/frames.js'
import { startRedisWorker, type RedisWorker, type RedisWorkerOptions } from './redis-worker.js'

/** Caller → worker, first frame. */
export interface LaunchFrame {
  readonly worker: Pick<RedisWorkerOptions, 'url' | 'tls' | 'pool' | 'workersPerNode' | 'heartbeatMs'>
  readonly heartbeatInterval: number
  /** Silence from the caller after which the worker leaves. */
  readonly callerTimeout: number
  /** Not joined by then: the broker is unreachable from here; say so and exit 1. */
  readonly joinTimeout: number
  readonly protocol: number
}

// stdout carries frames; what else would write there (console.log, tasks' threads) goes to stderr,
// which the caller forwards with a `[host N]` prefix.
const protocolOut = process.stdout
const writeProtocol = protocolOut.write.bind(protocolOut)
process.stdout.write = ((chunk: never, ...rest: never[]) => process.stderr.write(chunk, ...rest)) as typeof process.stdout.write
const send = (message: ReadyFrame | null) => writeProtocol(encodeFrame(message))
// Once the connection is gone, writes fail: the worker is leaving by then, and must not crash doing it.
protocolOut.on('error', () => {})
process.stderr.on('error', () => {})

let starting: Promise<RedisWorker> | undefined
let leaving = false
let lastHeard = Date.now()

const reader = new FrameReader((frame) => {
  lastHeard = Date.now()
  if (frame !== null && starting === undefined && typeof frame === 'object' && 'worker' in frame) start(frame as LaunchFrame)
})
process.stdin.on('data', (chunk: Buffer) => reader.push(chunk))
process.stdin.on('end', leave)
process.stdin.on('error', leave)
process.once('SIGTERM', leave)
process.once('SIGINT', leave)

function start(frame: LaunchFrame): void {
  if (frame.protocol !== PROTOCOL) {
    process.stderr.write(`spindle worker: the caller speaks protocol ${frame.protocol}, this worker ${PROTOCOL}; exiting\n`)
    process.exit(2)
  }
  const { url, pool } = frame.worker
  const giveUp = setTimeout(() => {
    const shown = url.replace(/\/\/[^@/]*@/, '//…@') // no password in the caller's error message
    process.stderr.write(`spindle worker: could not join pool ${pool} through Redis at ${shown} within ${frame.joinTimeout} ms; is the broker reachable from ${hostname()}?\n`)
    process.exit(1)
  }, frame.joinTimeout)
  starting = startRedisWorker(frame.worker)
  starting.catch((error: Error) => {
    // A refusal (ERR_SPINDLE_REDIS_DENIED): the caller sees this line among the host's last ones.
    process.stderr.write(`spindle worker: ${error.message}\n`)
    process.exit(1)
  })
  void starting.then(() => {
    clearTimeout(giveUp)
    if (leaving) return
    send({ ready: true, pid: process.pid, protocol: PROTOCOL, node: process.version })
    setInterval(() => {
      if (Date.now() - lastHeard > frame.callerTimeout) {
        process.stderr.write(`spindle worker: nothing from the caller for ${frame.callerTimeout} ms; leaving the pool\n`)
        return leave()
      }
      send(null)
    }, frame.heartbeatInterval)
  })
}

/** Leaves the pool once, after what it was sent has answered; then exits. */
function leave(): void {
  if (leaving) return
  leaving = true
  if (starting === undefined) process.exit(0)
  void starting.then((worker) => worker.stop()).then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`spindle worker: leaving pool: ${error.message}\n`)
      process.exit(1)
    },
  )
}
