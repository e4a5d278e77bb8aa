/**
 * `hosts` on the Redis backend: the caller starts one worker on each host over SSH, with the
 * SSH backend's bootstrap (ssh/connection.ts: the boot line, the bundle uploaded when the host
 * lacks it, heartbeats, `[host N]` stderr), running redis/worker-ssh.js of the bundle instead of
 * the node agent. The workers dial in through Redis like any other (so the broker's URL must be
 * reachable from the hosts) and are ordinary members of the pool; they leave it when their SSH
 * connection ends, which the pool's close() does after its own goodbyes. A host that cannot be
 * used fails start with the SSH backend's SshError, and the workers already started are ended.
 */
import type { Backend } from '../backend.js'
import { bundle } from '../ssh/bundle.js'
import { sshArguments } from '../ssh/command.js'
import { Connection } from '../ssh/connection.js'
import { closeControlDir, controlPath, openControlDir } from '../ssh/control-dir.js'
import { PROTOCOL } from '../ssh/frames.js'
import type { ResolvedHost, ResolvedSshOptions } from '../ssh/hosts.js'
import { startRedisBackend, type RedisBackendOptions } from './redis-backend.js'
import type { LaunchFrame } from './worker-ssh.js'

/** The entry script in the bundle (bundle.ts lays dist/ out under node_modules/spindle/). */
const WORKER_SSH = 'node_modules/spindle/dist/backends/redis/worker-ssh.js'

/** The Redis backend with a worker of its own started on each host first. */
export async function startRedisBackendOnHosts(
  options: RedisBackendOptions,
  hosts: readonly ResolvedHost[],
  ssh: ResolvedSshOptions,
  workersPerNode: number,
): Promise<Backend> {
  const endWorkers = await launchWorkers(options, hosts, ssh, workersPerNode)
  const backend = await startRedisBackend(options).catch(async (error: unknown) => {
    await endWorkers()
    throw error
  })
  const closeBackend = backend.close.bind(backend)
  // Goodbyes first (this caller's sessions end at once), then the workers leave.
  backend.close = async () => {
    await closeBackend()
    await endWorkers()
  }
  return backend
}

/** Starts the workers; resolves, once each has joined the pool, to what ends them (their SSH connections). */
async function launchWorkers(
  options: Pick<RedisBackendOptions, 'url' | 'tls' | 'pool' | 'heartbeatMs'>,
  hosts: readonly ResolvedHost[],
  ssh: ResolvedSshOptions,
  workersPerNode: number,
): Promise<() => Promise<void>> {
  const { hash, archive } = bundle()
  const controlDir = openControlDir(hosts.length)
  const heartbeatMs = options.heartbeatMs ?? 1000
  const config: LaunchFrame = {
    worker: { url: options.url, tls: options.tls, pool: options.pool, workersPerNode, heartbeatMs },
    heartbeatInterval: ssh.heartbeatInterval,
    callerTimeout: 6 * ssh.heartbeatTimeout, // as patient as the node agent (ssh-backend.ts)
    // Within the connection's own timeout, so that a broker the host cannot reach is named as such.
    joinTimeout: Math.round(ssh.connectTimeout * 0.75),
    protocol: PROTOCOL,
  }
  const opened = await Promise.allSettled(
    hosts.map((host, index) =>
      Connection.open({
        host,
        index,
        args: sshArguments(host, { controlPath: controlPath(controlDir, index), heartbeatInterval: ssh.heartbeatInterval, connectTimeout: ssh.connectTimeout, bundleHash: hash, agent: WORKER_SSH }),
        archive,
        config,
        options: ssh,
        receive: () => {}, // its calls and answers go through Redis
        // The pool sees the worker go by its heartbeat key; this says why.
        lost: (reason) => process.stderr.write(`[host ${index}] the Redis worker on ${host.name} is gone: ${reason}\n`),
      }),
    ),
  )
  const connections = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
  // A leaving worker waits two heartbeats for callers to see it go, then for what it runs.
  const grace = 3 * heartbeatMs + 2000
  const close = async () => {
    await Promise.all(connections.map((connection) => connection.close(grace)))
    closeControlDir(controlDir)
  }
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected')
  if (failed !== undefined) {
    await close()
    throw failed.reason
  }
  return close
}
