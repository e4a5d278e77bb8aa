/**
 * The node agent's core, whatever carries its messages: one Node process that is one node of a
 * pool. It runs batches on its own worker threads (the thread backend's nodes, so crashes inside
 * it are blamed as on a thread pool) and forwards calls its tasks submit (parallelMap inside a
 * task) to the caller. It tells the caller which batches began on its threads (one the caller
 * never heard of runs again free if the agent dies), and passes on the results long calls send
 * ahead of their answers, and what a map chunk's worker left when it exited under one of the
 * chunk's items (agent-rescue.ts). The transport is the caller's: IPC for the process backend
 * (process/agent-main.ts), length-prefixed frames on stdin/stdout for SSH (ssh/agent-ssh.ts).
 */
import type { BatchControl, NodeFailure } from '../backend.js'
import { ThreadNode } from '../thread/thread-node.js'
import { decodeThrown, encodeThrown } from '../../protocol/error-codec.js'
import {
  CALL_FIELDS,
  REQUEST_HEADER,
  type BatchRequest,
  type FailureData,
  type FromAgent,
  type MembersUpdate,
  type NestedReply,
  type TaskDefinition,
  type ToAgent,
} from '../../protocol/messages.js'
import type { InstanceInfo } from '../../worker/context.js'
import type { Rescue } from '../../protocol/messages.js'
import { AgentRescues } from './agent-rescue.js'

/** How the caller configures an agent (the process agent's first argument, as JSON; the SSH agent's first frame). */
export interface AgentConfig {
  /** The agent's node: its threads report this `node`, with `worker` their own index. */
  readonly info: Omit<InstanceInfo, 'worker'>
  readonly resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number }
}
import { isPinnedActorTask } from '../../worker/actor-wire.js'

/**
 * Where task modules live, when that is not where the caller said: on an SSH host, a module is
 * a copy in the host's cache, and nested calls name it by the caller's URL again.
 */
export interface ModuleMap {
  toAgent(url: string): string
  toCaller(url: string): string
}

const SAME: ModuleMap = { toAgent: (url) => url, toCaller: (url) => url }

/**
 * What handles each message from the caller; `close()` ends the session where the caller went
 * away without the agent process ending with it (a Redis worker serves many callers): its
 * threads are terminated, whatever they run, and nothing more is sent.
 */
export type AgentHost = ((message: ToAgent) => void) & { close(): Promise<void> }

/** Starts the threads. */
export function startAgentHost(config: AgentConfig, sendOut: (message: FromAgent) => void, modules = SAME): AgentHost {
  let closed = false
  const send = (message: FromAgent) => {
    if (!closed) sendOut(message)
  }
  const threads: ThreadNode[] = Array.from(
    { length: config.info.workersPerNode },
    (_, worker) => new ThreadNode(worker, { ...config.info, worker }, { resourceLimits: config.resourceLimits, sharedMemory: false }),
  )
  const busy = threads.map(() => 0)
  /** Every task definition seen, and which ones each thread's current worker has had. */
  const definitions = new Map<number, TaskDefinition>()
  const sent = threads.map((t) => ({ generation: t.generation, ids: new Set<number>(), toldMembers: true }))
  /** The node's latest place in the pool (dispatch/membership.ts), once the caller has sent one: each thread is told once. */
  let members: MembersUpdate | undefined
  /** Ids of the actor host's tasks that must run on the thread their actor lives on (worker/actor-wire.ts). */
  const actorTasks = new Set<number>()
  /** Batches on the threads, by id. */
  const jobs = new Map<number, Job>()
  const rescues = new AgentRescues()
  const announce = startAnnouncer(send, (id) => {
    const job = jobs.get(id)
    return job !== undefined && threads[job.index]!.began(id)
  })
  const nested = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()
  let nextNested = 1

  for (const thread of threads) {
    // Lines its threads' tasks print go to the caller with their call, as from a thread node.
    thread.serveOutput((seq, stream, text) => send({ output: [seq, stream, text] }))
    thread.servePartial((seq, data) => send({ partial: [seq, data] }))
    thread.serveNested((parent, task, args, options) => {
      const id = nextNested++
      return new Promise((resolve, reject) => {
        nested.set(id, { resolve, reject })
        const module = modules.toCaller(task.module)
        send({ submit: id, parent, task: [module, task.name], args, timeout: options.timeout, costKey: options.costKey })
      })
    })
  }

  /** The least busy thread that can run a batch (one whose worker could not start is gone for good). */
  function leastBusy(): number {
    const up = busy.map((n, i) => (threads[i]!.state === 'lost' ? Infinity : n))
    return Math.max(0, up.indexOf(Math.min(...up)))
  }

  /**
   * Runs a batch on its least busy thread. When a thread runs out of work while a batch waits
   * behind another on a busier one, that batch is taken back and moved (`steal`), as the
   * dispatcher does between nodes.
   */
  function run(batch: BatchRequest, moveTo?: number): void {
    // A batch sent again while it is here (a broker that restarted lost the caller's word of it): it answers once.
    if (moveTo === undefined && jobs.has(batch[1])) return
    for (const d of batch[0] ?? []) {
      const definition: TaskDefinition = [d[0], modules.toAgent(d[1]), d[2]]
      definitions.set(d[0], definition)
      rescues.define(definition)
      if (isPinnedActorTask(d[1], d[2])) actorTasks.add(d[0])
    }
    rescues.arm(batch)
    if (batch[4] !== undefined) {
      members = batch[4]
      for (const known of sent) known.toldMembers = false
    }
    const pinned = actorTasks.size === 0 ? undefined : actorThread(batch)
    const index = moveTo ?? pinned ?? leastBusy()
    const thread = threads[index]!
    busy[index]!++
    const id = batch[1]
    const job: Job = { index, control: () => {}, movingTo: -1, pinned: pinned !== undefined }
    const settle = () => {
      busy[index]!--
      if (jobs.get(id) === job) jobs.delete(id)
    }
    jobs.set(id, job)
    announce.sent(id)
    job.control = thread.execute(
      withDefinitions(index, batch),
      (response) => {
        settle()
        rescues.ended(batch)
        announce.ended(id)
        send({ done: response })
        steal(index)
      },
      (failure) => {
        settle()
        if (failure.reason === 'revoked' && job.movingTo !== -1) return run(batch, job.movingTo)
        const rescue = rescues.ended(batch, failure.reason === 'crash' ? failure.details.crash?.owner : undefined)
        announce.ended(id)
        send({ failed: id, failure: flatten(failure, rescue) })
        steal(index)
      },
    )
  }

  /** Thread `index` is idle: the newest batch waiting behind another on a busier thread moves to it. */
  function steal(index: number): void {
    if (busy[index] !== 0) return
    let newest: Job | undefined
    for (const job of jobs.values()) if (busy[job.index]! > 1 && !job.pinned) newest = job
    if (newest === undefined) return
    newest.movingTo = index
    newest.control('revoke') // answered at once: taken back (and run here), or it had started
    newest.movingTo = -1
  }

  /** The thread an actor's call must run on: the one its actor lives on (its second argument; actor calls travel alone). */
  function actorThread(batch: BatchRequest): number | undefined {
    if (!actorTasks.has(batch[REQUEST_HEADER + 1] as number)) return undefined
    const worker = (batch[REQUEST_HEADER + 2] as unknown[])[1]
    return typeof worker === 'number' && worker >= 0 && worker < threads.length ? worker : undefined
  }

  /** The batch with the definitions (and news of the node's place) this thread's current worker has not had: the caller sent them to the node once. */
  function withDefinitions(index: number, batch: BatchRequest): BatchRequest {
    const known = sent[index]!
    const thread = threads[index]!
    if (known.generation !== thread.generation) {
      known.generation = thread.generation
      known.ids.clear()
      known.toldMembers = members === undefined // a new worker starts with the place the node started with
    }
    const missing: TaskDefinition[] = []
    for (let at = REQUEST_HEADER + 1; at < batch.length; at += CALL_FIELDS) {
      const id = batch[at] as number
      if (!known.ids.has(id)) {
        known.ids.add(id)
        missing.push(definitions.get(id)!)
      }
    }
    const request = [missing.length > 0 ? missing : undefined, ...batch.slice(1)] as BatchRequest
    request[4] = known.toldMembers ? undefined : members
    known.toldMembers = true
    return request
  }

  function reply(message: NestedReply): void {
    const waiter = nested.get(message.reply)
    if (waiter === undefined) return
    nested.delete(message.reply)
    if (message.ok) waiter.resolve(message.value)
    else waiter.reject(decodeThrown(message.error!))
  }

  const receive = (message: ToAgent) => {
    if (closed) return
    if (Array.isArray(message)) return run(message)
    if ('stop' in message) return jobs.get(message.stop)?.control('stop')
    if ('revoke' in message) return jobs.get(message.revoke)?.control('revoke')
    reply(message)
  }
  const close = async () => {
    closed = true
    announce.close()
    for (const waiter of nested.values()) waiter.reject(new Error('The caller ended its session'))
    nested.clear()
    await Promise.all(threads.map((thread) => thread.close()))
  }
  return Object.assign(receive, { close })
}

/** A batch is looked at once it has been out this long, in ms; at most SCAN_MAX_MS between looks. */
const SCAN_MS = 1
const SCAN_MAX_MS = 16

/**
 * Tells the caller which batches have begun. A message per batch as it began cost a sequential
 * round trip more CPU (a second wake-up of this thread per batch); instead this thread reads its
 * threads' claim words (a batch's word turns RUNNING as its calls begin) for the batches out for
 * 1 ms or more, 1 ms after a batch is handed over and then at doubling intervals (up to 16 ms)
 * while any are unannounced, back to 1 ms when a batch is handed over or ends. Those that began
 * go in one message; a batch answered within 1 ms needs none. A batch that dies with the agent
 * before its start was read runs again free: the caller's guard against agents lost again and
 * again with nothing begun bounds that (agent-replies.ts).
 */
function startAnnouncer(send: (message: FromAgent) => void, began: (batch: number) => boolean): { sent: (batch: number) => void; ended: (batch: number) => void; close: () => void } {
  /** Batches out and not announced, with when each was handed over. */
  const unannounced = new Map<number, number>()
  let timer: NodeJS.Timeout | undefined
  let delay = SCAN_MS
  const scan = () => {
    timer = undefined
    const now = performance.now()
    const started: number[] = []
    for (const [batch, at] of unannounced) if (now - at >= SCAN_MS && began(batch)) started.push(batch)
    for (const batch of started) unannounced.delete(batch)
    if (started.length > 0) send({ started })
    delay = started.length > 0 ? SCAN_MS : Math.min(SCAN_MAX_MS, delay * 2)
    if (unannounced.size > 0) timer = setTimeout(scan, delay)
  }
  return {
    sent: (batch) => {
      unannounced.set(batch, performance.now())
      delay = SCAN_MS
      timer ??= setTimeout(scan, delay)
    },
    ended: (batch) => {
      unannounced.delete(batch)
      delay = SCAN_MS
    },
    close: () => {
      clearTimeout(timer)
      unannounced.clear()
    },
  }
}

/** A batch on one of the agent's threads. */
interface Job {
  readonly index: number
  control: BatchControl
  /** While it is being moved to an idle thread: that thread's index (else -1). */
  movingTo: number
  /** An actor's call: it runs on its actor's thread, and is never moved. */
  readonly pinned: boolean
}

function flatten(failure: NodeFailure, rescue: Rescue | undefined): FailureData {
  const { exitCode, crash, interrupted, cause } = failure.details
  return {
    reason: failure.reason,
    message: failure.message,
    exitCode,
    crash,
    interrupted: interrupted === true,
    cause: cause === undefined ? undefined : encodeThrown(cause),
    rescue,
  }
}
