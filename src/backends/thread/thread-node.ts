/**
 * A node of the thread backend: one worker thread, owned by its own single-thread Piscina.
 *
 * Piscina owns the thread's lifecycle: start, `resourceLimits`, replacement after it dies,
 * unref while idle, termination on close. One Piscina per node (not one for the pool) is what
 * lets `broadcast` reach every thread exactly once and `node:` pin a call.
 *
 * Messages travel on a MessageChannel of our own, handed to each new worker by a Piscina task
 * as soon as the worker exists. Piscina's per-task path costs ~3 µs per round trip that a plain
 * port does not, and the dispatcher already does the queueing. The port carries batches and
 * their answers (by batch id: answers may overtake each other) and the calls a running task
 * submits itself (parallelMap inside a task). It is ref'd only while something is in flight,
 * so an idle pool never keeps the process alive.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type ResourceLimits, type Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { NodeFailure, type BackendNode, type BatchControl, type NestedHandler, type NodeLifecycle, type NodeState, type OutputHandler, type PartialHandler } from '../backend.js'
import { ClaimWords } from '../../protocol/claims.js'
import { createCrashSlot, takeCrash, warnStrayCrash } from '../../worker/crash-slot.js'
import type { BatchRequest, BatchResponse, FromWorker } from '../../protocol/messages.js'
import type { InstanceInfo } from '../../worker/context.js'
import { tsxApiUrl } from '../../worker/typescript-loader.js'
import type { ThreadWorkerData } from '../../worker/thread-entry.js'
import { judgeLost, lossOf, startError } from './lost-batches.js'
import { serveNested } from './nested-calls.js'
import { ReplacementWait } from './replacement-wait.js'

export interface ThreadNodeOptions {
  resourceLimits?: ResourceLimits | undefined
  env?: Record<string, string> | undefined
  execArgv?: string[] | undefined
  /** Whether the pool its tasks submit to shares this process's memory: not inside a node agent. @default true */
  sharedMemory?: boolean | undefined
}

interface InFlight {
  readonly batch: BatchRequest
  done: (response: BatchResponse) => void
  failed: (failure: NodeFailure) => void
  /** Set when the dispatcher stopped this batch (its deadline passed, or it was cancelled). */
  stopped: boolean
  /** Its claim word: until the worker claims it, the batch can be taken back. */
  claim: number
}

interface Channel {
  readonly port: MessagePort
  readonly worker: Worker
  /** Being stopped by us (a batch's deadline or cancellation): it takes nothing new. */
  terminating: boolean
  /** Nested calls submitted by tasks on this worker, by their id there. */
  readonly nested: Map<number, AbortController>
}

const ENTRY = new URL('../../worker/thread-entry.js', import.meta.url).href

export class ThreadNode implements BackendNode {
  /**
   * Two batches in flight: the next one waits in the worker's port while the current one runs,
   * so the worker never idles for a round trip (and, on a machine whose cores are all busy with
   * workers, never waits for the main thread to be scheduled). Until the worker claims it, the
   * dispatcher can take it back (for an idle worker, a cancellation, close): `claims`.
   */
  readonly slots = 2
  generation = 0
  private readonly crashSlot = createCrashSlot()
  private readonly claims = new ClaimWords()
  private readonly pool: Piscina
  private channel: Channel | undefined
  private readonly inFlight = new Map<number, InFlight>()
  /** Batches waiting for the replacement of a worker we are stopping. */
  private readonly waiting = new ReplacementWait()
  private nestedHandler: NestedHandler | undefined
  private outputHandler: OutputHandler | undefined
  private partialHandler: PartialHandler | undefined
  private lifecycle: ((event: NodeLifecycle) => void) | undefined
  private lastError: unknown
  private closed = false
  /** Ready from the start (batches wait in the port); `'lost'` once a worker could not start: Piscina starts no other then. */
  state: NodeState = 'ready'
  lostBecause: Error | undefined
  private listener: (() => void) | undefined
  /** Settles once the current worker has taken its port (its module graph is loaded). */
  private connected: Promise<unknown> = Promise.resolve()

  constructor(
    readonly index: number,
    info: InstanceInfo,
    options: ThreadNodeOptions,
  ) {
    const workerData: ThreadWorkerData = { info, crashSlot: this.crashSlot, claims: this.claims.buffer, tsxApi: tsxApiUrl(options.execArgv), sharedMemory: options.sharedMemory ?? true }
    this.pool = new Piscina({
      filename: ENTRY,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Infinity,
      // 'disabled': the worker's event loop runs between tasks, so a timer that a finished task
      // left behind fires while the worker is idle, not in the middle of the next task.
      atomics: 'disabled',
      recordTiming: false,
      workerData,
      ...(options.resourceLimits !== undefined && { resourceLimits: options.resourceLimits }),
      ...(options.env !== undefined && { env: options.env }),
      ...(options.execArgv !== undefined && { execArgv: options.execArgv }),
    })
    // A worker that dies while idle (a stray timer's error) is replaced by Piscina; without a
    // listener the 'error' event would crash the caller's process instead.
    this.pool.on('error', (error: unknown) => (this.lastError = error))
    this.connect()
  }

  describe(): string {
    return `thread ${this.index}`
  }

  get peer(): string {
    return `thread-${this.index}`
  }

  serveNested(handler: NestedHandler): void {
    this.nestedHandler = handler
  }

  serveOutput(handler: OutputHandler): void {
    this.outputHandler = handler
  }

  servePartial(handler: PartialHandler): void {
    this.partialHandler = handler
  }

  /** Whether batch `id`, in flight here, has begun: its worker marked its claim word RUNNING (a node agent asks). */
  began(id: number): boolean {
    const entry = this.inFlight.get(id)
    return entry !== undefined && this.claims.running(entry.claim)
  }

  watch(listener: () => void): void {
    this.listener = listener
  }

  serveLifecycle(handler: (event: NodeLifecycle) => void): void {
    this.lifecycle = handler
  }

  execute(batch: BatchRequest, done: (response: BatchResponse) => void, failed: (failure: NodeFailure) => void): BatchControl {
    const channel = this.channel ?? this.connect()
    if (channel === undefined) {
      if (this.lostBecause !== undefined) failed(new NodeFailure('crash', this.lostBecause.message, { interrupted: true, cause: this.lostBecause }))
      else failed(new NodeFailure('aborted', 'the node is closed'))
      return () => {}
    }
    if (channel.terminating) {
      const send = () => this.execute(batch, done, failed)
      return this.waiting.hold(batch, send, (header) => this.channel?.port.postMessage(header), failed)
    }
    const id = batch[1]
    const entry: InFlight = { batch, done, failed, stopped: false, claim: (batch[2] = this.claims.take(id)) }
    try {
      channel.port.postMessage(batch) // first: a value structured clone refuses throws here, with nothing recorded
    } catch (error) {
      this.claims.release(entry.claim)
      throw error
    }
    this.inFlight.set(id, entry)
    // Something in flight: keep the process alive until the answer comes. The worker too, not
    // only the port: a worker that dies (out of memory, say) closes the port before its 'exit'
    // event, and that event is what fails the batch; with nothing else ref'd the process would
    // exit first, its awaited call never settled.
    channel.port.ref()
    channel.worker.ref()
    return (how) => {
      if (this.inFlight.get(id) !== entry) return // it has ended
      if (this.claims.revoke(entry.claim, id)) return this.settle(id)!.failed(new NodeFailure('revoked', 'it was taken back before it started'))
      if (how === 'revoke') return
      // Stopping running code on a thread means stopping the thread; Piscina replaces it.
      entry.stopped = true
      channel.terminating = true
      // Batches written from now on wait for the replacement (see later): they must carry every
      // task definition they use, so the worker they reach counts as new already.
      this.generation++
      void channel.worker.terminate()
    }
  }

  /**
   * Terminates the thread (the dispatcher has already waited for running work). A worker still
   * loading its modules is let finish first (a few ms): terminating a thread mid-load can abort
   * the whole process on Node 20.
   */
  async close(): Promise<void> {
    this.closed = true
    this.waiting.flush() // fails them: the node is closed
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.connected, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))])
    clearTimeout(timer)
    return this.pool.destroy()
  }

  /** Opens a channel to the current worker: a Piscina task hands it the far end of the port. */
  private connect(): Channel | undefined {
    const worker = this.pool.threads[0]
    if (this.closed || worker === undefined) return undefined
    const { port1: port, port2 } = new MessageChannel()
    const channel: Channel = { port, worker, terminating: false, nested: new Map() }
    port.on('message', (message: FromWorker) => this.receive(channel, message))
    port.unref()
    worker.once('exit', (code: number) => this.lost(channel, code))
    this.connected = this.pool.run({ connect: port2 }, { transferList: [port2] }).then(
      () => this.channel === channel && !this.closed && this.lifecycle?.({ type: 'ready' }),
      () => {
        // The worker died before it took the port: its 'exit' fails what was sent and reconnects.
      },
    )
    this.channel = channel
    return channel
  }

  private receive(channel: Channel, message: FromWorker): void {
    if (Array.isArray(message)) {
      const entry = this.settle(message[2])
      entry?.done(message)
    } else if ('partial' in message) {
      this.partialHandler?.(message.partial[0], message.partial[1])
    } else if ('output' in message) {
      const [seq, stream, text] = message.output
      if (this.outputHandler !== undefined) this.outputHandler(seq, stream, text)
      else (stream === 1 ? process.stdout : process.stderr).write(`[${this.describe()}] ${text}\n`)
    } else if ('submit' in message) {
      if (this.nestedHandler !== undefined) serveNested(channel, message, this.nestedHandler)
    } else {
      channel.nested.get(message.cancel)?.abort(new Error('cancelled by the task that submitted it'))
    }
  }

  /** The worker behind a channel exited: fail what was in flight, and connect to its replacement. */
  private lost(channel: Channel, exitCode: number): void {
    if (this.channel !== channel) return
    this.channel = undefined
    this.generation++ // a new worker knows none of the task definitions sent so far
    const crash = takeCrash(this.crashSlot)
    const thrown = this.lastError
    const error = thrown ?? new Error(`worker exited with code: ${exitCode}`)
    this.lastError = undefined
    const lostIds = [...this.inFlight.keys()]
    // What the worker posted before it died is still queued on our end (its 'exit' can come
    // first): a batch it answered is answered, whatever its leftover timers did next. (Those
    // answers may send new batches: they go to the replacement.)
    for (let m = receiveMessageOnPort(channel.port); m !== undefined; m = receiveMessageOnPort(channel.port)) {
      this.receive(channel, m.message as FromWorker)
    }
    channel.port.close()
    for (const controller of channel.nested.values()) controller.abort(new Error('the task that submitted it is gone'))
    channel.nested.clear()
    // Judged before their claim words are released: those never claimed are taken back.
    const verdict = judgeLost(lostIds.flatMap((id) => this.inFlight.get(id) ?? []), this.claims, {
      crash,
      error,
      exitCode,
      closed: this.closed,
      stoppedByUs: channel.terminating,
    })
    const entries = lostIds.flatMap((id) => this.settle(id) ?? [])
    // No replacement means the worker failed while starting: Piscina gives up on such a pool.
    if (!this.closed && this.pool.threads.length === 0) {
      this.state = 'lost' // out of the rotation for good: calls go to other nodes, or fail with this reason
      this.lostBecause = startError(this.index, error)
    }
    // The replacement first, and only one: the calls failed below are sent again at once, and must
    // reach it (a second channel would leave their batch on one nobody stops).
    if (!this.closed && this.channel === undefined) this.connect()
    // Died while idle (nothing it had begun): only code left behind by a finished call can have done it.
    if (!verdict.anyStarted && crash !== undefined && !this.closed) warnStrayCrash(this.describe(), crash, false)
    if (!this.closed) this.lifecycle?.(lossOf(this.index, this.lostBecause, channel.terminating, thrown, exitCode))
    for (const entry of entries) entry.failed(verdict.failures.get(entry)!)
    this.waiting.flush()
    if (this.state === 'lost') this.listener?.()
  }

  private settle(id: number): InFlight | undefined {
    const entry = this.inFlight.get(id)
    if (entry === undefined) return undefined
    this.inFlight.delete(id)
    this.claims.release(entry.claim)
    if (this.inFlight.size === 0) {
      this.channel?.port.unref()
      this.channel?.worker.unref()
    }
    return entry
  }
}
