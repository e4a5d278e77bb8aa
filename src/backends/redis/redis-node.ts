/**
 * A node of the Redis backend: one worker that dialled in, reached through its request stream.
 * Its batches and their answers are a node agent's (agent/agent-node.ts); its link is the worker
 * id, written to by the backend's connection. It is lost when its heartbeat key expires (every
 * batch out is then interrupted, or goes back free if it never began), and leaves when the
 * worker says so: draining, then closed once what it began has answered.
 */
import { serialize } from 'node:v8'
import type { Redis } from 'ioredis'
import { SpindleError } from '../../errors.js'
import { AgentNode } from '../agent/agent-node.js'
import { NodeFailure, type BatchControl, type NodeState } from '../backend.js'
import type { BatchRequest, BatchResponse, FromAgent, ToAgent } from '../../protocol/messages.js'
import type { PoolKeys } from './keys.js'
import { moduleFrames, shipModules } from '../agent/module-frames.js'
import { everyCallFailed } from '../agent/agent-replies.js'
import type { ModuleStore } from './module-store.js'

export class RedisNode extends AgentNode<string> {
  state: NodeState = 'starting'
  lostBecause: Error | undefined
  private listener: (() => void) | undefined
  private helloFrame: unknown
  /** The frames of the batches in flight, by id: sent again if the broker restarts (it may have lost them). */
  private readonly frames = new Map<number, Buffer>()
  /** Task modules this worker has been told of, by the caller's URL. */
  private readonly shipped = new Set<string>()

  constructor(
    index: number,
    readonly workerId: string,
    threads: number,
    private readonly redis: Redis,
    private readonly keys: PoolKeys,
    private readonly caller: string,
    private readonly modules: ModuleStore,
  ) {
    super(index, threads, 'worker')
  }

  describe(): string {
    return `worker ${this.index} (${this.workerId.slice(0, 8)})`
  }

  get peer(): string {
    return this.workerId
  }

  watch(listener: () => void): void {
    this.listener = listener
  }

  /** The caller's first frame: the agent's configuration for this pool's session. */
  hello(frame: unknown): void {
    this.helloFrame = frame
    this.post(frame)
  }

  /**
   * The caller's last frame: the worker ends this caller's session (its threads) now. NOMKSTREAM:
   * a worker that was lost or has left deleted its stream, and a goodbye must not make it again.
   */
  bye(): Promise<void> {
    return this.redis.xadd(this.keys.inbox(this.workerId), 'NOMKSTREAM', '*', 'c', this.caller, 'm', serialize({ bye: true })).then(
      () => {},
      () => {},
    )
  }

  /**
   * The broker restarted and may have lost what was in the worker's stream: the hello if the
   * worker has not answered it, and every batch not answered, go again. The worker runs a batch
   * it still has once; one it had answered (the answer lost) runs again, and the first answer
   * to arrive counts. The modules it was told of go first (their sources are stored again).
   */
  resend(): void {
    if (this.state === 'lost' || this.state === 'closed') return
    if (this.state === 'starting') this.post(this.helloFrame)
    for (const module of this.shipped) for (const frame of moduleFrames(module)) this.post(this.modules.store(frame))
    for (const frame of this.frames.values()) this.postFrame(frame)
  }

  /** A frame on the caller's reply stream from this node's worker. */
  hear(message: FromAgent): void {
    if (this.state === 'closed' || this.state === 'lost') return
    if ('ready' in message && this.state === 'starting') this.setState('ready')
    this.receive(this.workerId, message)
    if (this.state === 'draining' && this.inFlight.size === 0) this.setState('closed')
  }

  execute(batch: BatchRequest, done: (response: BatchResponse) => void, failed: (failure: NodeFailure) => void): BatchControl {
    if (this.state !== 'ready') {
      failed(new NodeFailure('revoked', `${this.describe()} takes no batches now`))
      return () => {}
    }
    if (!shipModules(batch, this.shipped, (frame) => this.post(this.modules.store(frame)), done)) return () => {}
    return this.dispatch(this.workerId, batch, done, failed)
  }

  /** The worker said it leaves: nothing new goes to it, and it closes once what it has answered. */
  leave(): void {
    if (this.state !== 'ready' && this.state !== 'starting') return
    this.setState(this.inFlight.size === 0 ? 'closed' : 'draining')
  }

  /** Its heartbeat expired: what it had is interrupted, or goes back free if it never began. */
  lose(why: string): void {
    if (this.state === 'closed' || this.state === 'lost') return
    this.lostBecause = new SpindleError('ERR_SPINDLE_REDIS_WORKER_LOST', `${this.describe()} was lost: ${why}.`)
    const failure = new NodeFailure('crash', this.lostBecause.message, { interrupted: true })
    this.setState('closed') // not 'lost': it leaves the members (ranks close up), and other workers may join
    this.frames.clear()
    for (const [entry, reason] of this.takeLost(failure)) entry.failed(reason)
  }

  async close(): Promise<void> {
    this.closed = true
    const aborted = new NodeFailure('aborted', `${this.describe()} was closed`)
    for (const [entry] of this.inFlight.lost(aborted)) entry.failed(aborted)
  }

  protected get link(): string | undefined {
    return this.state === 'closed' || this.state === 'lost' ? undefined : this.workerId
  }

  protected sendOn(_: string, message: ToAgent): void {
    if (!Array.isArray(message)) return void this.post(message)
    const frame = serialize(message) // first: a value serialization refuses throws here, to the dispatcher
    this.frames.set(message[1], frame)
    // A command waits while the broker is away; one that fails was refused (an ACL changed, out
    // of memory): the batch never reached the worker, and its calls fail saying why.
    this.xadd(frame).catch((error: Error) => {
      const refused = new SpindleError('ERR_SPINDLE_REDIS_REFUSED', `The broker refused a batch of calls for ${this.describe()}: ${error.message}. Check the broker's memory (maxmemory) and the user's ACL.`, { cause: error })
      this.settle(message[1])?.done(everyCallFailed(message, refused))
    })
  }

  protected override settle(id: number, answered = true): ReturnType<AgentNode<string>['settle']> {
    this.frames.delete(id)
    return super.settle(id, answered)
  }

  protected hold(): void {}

  /** Serializes first: a value serialization refuses throws here, to the dispatcher. */
  private post(message: unknown): Buffer {
    const frame = serialize(message)
    this.postFrame(frame)
    return frame
  }

  /** Settles once the broker has it (or it failed: the node's loss settles what was in flight). */
  private postFrame(frame: Buffer): Promise<void> {
    return this.xadd(frame).then(
      () => {},
      () => {},
    )
  }

  private xadd(frame: Buffer): Promise<unknown> {
    return this.redis.xadd(this.keys.inbox(this.workerId), '*', 'c', this.caller, 'm', frame)
  }

  private setState(state: NodeState): void {
    this.state = state
    this.listener?.()
    if (state === 'ready') this.lifecycle?.({ type: 'ready' })
    else if (state === 'closed' && this.lostBecause === undefined) this.lifecycle?.({ type: 'left' })
    else if (state === 'closed') this.lifecycle?.({ type: 'lost', reason: 'connection', cause: this.lostBecause!, next: 'none' })
  }
}
