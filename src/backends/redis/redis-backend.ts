/**
 * The Redis backend: nodes are workers that dial in to a pool (`spindle worker --redis URL
 * --pool NAME`, redis-worker.ts), joining and leaving while the pool runs. The caller reads the
 * pool's `joins` stream for workers coming and going (after the set of those already there),
 * checks their heartbeat keys every `heartbeatMs` (a key gone: the worker is lost), and reads its
 * own reply stream for every worker's answers. A worker that joins gets this pool's session (a
 * hello frame with the agent's configuration) and is a node once it says it is ready.
 */
import { randomUUID } from 'node:crypto'
import type { ConnectionOptions } from 'node:tls'
import { deserialize } from 'node:v8'
import { connect, reachable } from './connect.js'
import { SpindleError } from '../../errors.js'
import type { Backend, BackendNode } from '../backend.js'
import type { FromAgent } from '../../protocol/messages.js'
import { LOST_KEPT, poolKeys } from './keys.js'
import { followFrames, type Cursor } from './frame-stream.js'
import { KEY_LIFETIME, Liveness } from './liveness.js'
import { RedisNode } from './redis-node.js'
import { ModuleStore } from './module-store.js'
import { DIST } from '../agent/module-frames.js'
import type { Hello } from './redis-worker.js'

export interface RedisBackendOptions {
  readonly url: string
  readonly tls?: ConnectionOptions | undefined
  readonly pool: string
  readonly jobId: string
  /** How often heartbeats are checked. @default 1000 */
  readonly heartbeatMs?: number
  /** Waits for this many workers to be ready. @default 0 */
  readonly minNodes?: number
  /** ms to wait for them. @default 60000 */
  readonly startTimeout?: number
}

export async function startRedisBackend(options: RedisBackendOptions): Promise<Backend & { readonly caller: string }> {
  const keys = poolKeys(options.pool)
  const caller = randomUUID()
  const heartbeat = options.heartbeatMs ?? 1000
  const commands = connect(options)
  const joinsReader = connect(options)
  const repliesReader = connect(options)
  await reachable(commands, options.url, keys.caller(caller), options.startTimeout ?? 60_000).catch((error: unknown) => {
    for (const connection of [commands, joinsReader, repliesReader]) connection.disconnect()
    throw error
  })
  const nodes: RedisNode[] = []
  const byWorker = new Map<string, RedisNode>()
  const modules = new ModuleStore(commands, keys)
  let joined: ((node: BackendNode) => void) | undefined
  let closed = false

  const join = async (worker: string) => {
    if (byWorker.has(worker) || closed) return
    const details = await commands.get(keys.worker(worker))
    if (details === null || byWorker.has(worker)) return // gone already
    const { workersPerNode } = JSON.parse(details) as { workersPerNode: number }
    const node = new RedisNode(nodes.length, worker, workersPerNode, commands, keys, caller, modules)
    nodes.push(node)
    byWorker.set(worker, node)
    joined?.(node)
    const hello: Hello = { hello: { info: { node: node.index, rank: node.index, totalNodes: nodes.length, isHead: node.index === 0, peers: nodes.map((n) => n.peer), jobId: options.jobId, backend: 'redis' } }, dist: DIST }
    node.hello(hello)
  }

  // The caller's heartbeat: workers end its sessions once it has gone (the caller died).
  const renew = () => commands.set(keys.caller(caller), '1', 'PX', heartbeat * KEY_LIFETIME)
  await renew()
  // The joins from now on, then the workers already there: a join between the two is seen twice, and taken once.
  const tail = await commands.xrevrange(keys.joins, '+', '-', 'COUNT', 1)
  /** The last entries read from the joins and reply streams; from the start once the broker restarted (it lost them). */
  let lastJoin = tail[0]?.[0] ?? '0'
  const replies: Cursor = { last: '0' }
  for (const worker of await commands.smembers(keys.workers)) await join(worker)

  const followJoins = (async () => {
    while (!closed) {
      const read = await joinsReader.xread('BLOCK', heartbeat, 'STREAMS', keys.joins, lastJoin).catch(() => null)
      if (read === null) continue
      for (const [, entries] of read) {
        for (const [entry, fields] of entries) {
          lastJoin = entry
          const worker = fields[fields.indexOf('w') + 1]!
          if (fields[fields.indexOf('e') + 1] === 'join') await join(worker)
          else byWorker.get(worker)?.leave()
        }
      }
    }
  })()

  // A reply for a batch already settled (sent twice, or late from a worker lost since) is dropped there.
  const readReplies = followFrames(
    { reader: repliesReader, commands, key: () => keys.outbox(caller), cursor: replies, sender: 'w', blockMs: heartbeat, open: () => !closed },
    (worker, frame) => byWorker.get(worker)?.hear(deserialize(frame) as FromAgent),
  )

  const liveness = new Liveness(commands, heartbeat, () => {
    lastJoin = replies.last = '0'
    modules.forget()
    void renew().catch(() => {})
    for (const node of nodes) node.resend()
  })
  const tick = setInterval(() => {
    void renew().catch(() => {})
    const watched = nodes.filter((node) => node.state !== 'closed' && node.state !== 'lost')
    void liveness.missing(watched, (node) => keys.worker(node.workerId)).then((gone) => {
      for (const node of gone) {
        node.lose('its heartbeat expired')
        // It cannot remove its own keys (nothing is left to read its stream); if it was only
        // frozen, the mark tells it when it wakes that its calls ran elsewhere.
        const id = node.workerId
        void commands.multi().srem(keys.workers, id).del(keys.inbox(id)).set(keys.lost(id), caller, 'PX', LOST_KEPT * heartbeat).exec().catch(() => {})
      }
    })
  }, heartbeat)

  const backend = {
    kind: 'redis' as const,
    nodeNoun: 'worker',
    nodes,
    caller,
    serveJoin(handler: (node: BackendNode) => void) {
      joined = handler
    },
    async close() {
      closed = true
      clearInterval(tick)
      await Promise.all(nodes.map((node) => node.close()))
      joinsReader.disconnect()
      repliesReader.disconnect()
      await Promise.all([followJoins, readReplies])
      // Goodbyes end the sessions' threads now; a broker that is away does not hold close() up
      // for longer than a key lifetime, after which the workers see this caller gone anyway.
      const goodbyes = Promise.all([...nodes.map((node) => node.bye()), commands.del(keys.outbox(caller), keys.caller(caller)).catch(() => {})])
      let timer: NodeJS.Timeout | undefined
      await Promise.race([goodbyes, new Promise((resolve) => (timer = setTimeout(resolve, KEY_LIFETIME * heartbeat)))])
      clearTimeout(timer)
      commands.disconnect()
    },
  }
  await waitForWorkers(nodes, options.minNodes ?? 0, options.startTimeout ?? 60_000, heartbeat).catch(async (error: unknown) => {
    await backend.close()
    throw error
  })
  return backend
}

/** Until `count` nodes are ready (polled every few ms, at most a heartbeat apart), or `timeout`. */
async function waitForWorkers(nodes: readonly RedisNode[], count: number, timeout: number, heartbeat: number): Promise<void> {
  const deadline = performance.now() + timeout
  while (nodes.filter((node) => node.state === 'ready').length < count) {
    if (performance.now() > deadline) {
      throw new SpindleError(
        'ERR_SPINDLE_REDIS_START_TIMEOUT',
        `Only ${nodes.filter((node) => node.state === 'ready').length} of ${count} workers joined within ${timeout} ms. ` +
          'Start workers with `spindle worker --redis URL --pool NAME` (the same pool), or lower `minNodes`.',
      )
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(20, heartbeat)))
  }
}
