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
import { MessageChannel, type MessagePort, type ResourceLimits, type Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { NodeFailure, type BackendNode, type NestedHandler, type OutputHandler } from '../backend.js'
import { createCrashSlot, takeCrash, warnStrayCrash } from '../../worker/crash-slot.js'
import type { BatchRequest, BatchResponse, NestedCancel, NestedSubmit, OutputLine } from '../../protocol/messages.js'
import type { InstanceInfo } from '../../worker/context.js'
import { tsxApiUrl } from '../../worker/typescript-loader.js'
import type { ThreadWorkerData } from '../../worker/thread-entry.js'
import { serveNested } from './nested-calls.js'

export interface ThreadNodeOptions {
  resourceLimits?: ResourceLimits | undefined
  env?: Record<string, string> | undefined
  execArgv?: string[] | undefined
}

interface InFlight {
  done: (response: BatchResponse) => void
  failed: (failure: NodeFailure) => void
  /** Set when the dispatcher stopped this batch (its deadline passed, or it was cancelled). */
  stopped: boolean
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
   * workers, never waits for the main thread to be scheduled).
   */
  readonly slots = 2
  generation = 0
  private readonly crashSlot = createCrashSlot()
  private readonly pool: Piscina
  private channel: Channel | undefined
  private readonly inFlight = new Map<number, InFlight>()
  /** Batches waiting for the replacement of a worker we are stopping. */
  private waiting: Array<() => void> = []
  private nestedHandler: NestedHandler | undefined
  private outputHandler: OutputHandler | undefined
  private lastError: unknown
  private closed = false
  /** Settles once the current worker has taken its port (its module graph is loaded). */
  private connected: Promise<unknown> = Promise.resolve()

  constructor(
    readonly index: number,
    info: InstanceInfo,
    options: ThreadNodeOptions,
  ) {
    const workerData: ThreadWorkerData = { info, crashSlot: this.crashSlot, tsxApi: tsxApiUrl(options.execArgv) }
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

  serveNested(handler: NestedHandler): void {
    this.nestedHandler = handler
  }

  serveOutput(handler: OutputHandler): void {
    this.outputHandler = handler
  }

  execute(batch: BatchRequest, done: (response: BatchResponse) => void, failed: (failure: NodeFailure) => void): () => void {
    const entry: InFlight = { done, failed, stopped: false }
    const channel = this.channel ?? this.connect()
    if (channel === undefined) {
      failed(new NodeFailure('aborted', 'the node is closed'))
      return () => {}
    }
    if (channel.terminating) {
      // The worker is being stopped: send once its replacement is there.
      let stopped = false
      let stopLater: (() => void) | undefined
      this.waiting.push(() => {
        if (stopped) return failed(new NodeFailure('aborted', 'aborted'))
        try {
          stopLater = this.execute(batch, done, failed)
        } catch (error) {
          // Not sent (a value clone refuses): back to the dispatcher, whose own send sorts it out.
          failed(new NodeFailure('crash', `the batch could not be sent: ${String(error)}`, { interrupted: true, cause: error }))
        }
      })
      return () => (stopLater !== undefined ? stopLater() : void (stopped = true))
    }
    channel.port.postMessage(batch) // first: a value structured clone refuses throws here, with nothing recorded
    this.inFlight.set(batch[1], entry)
    // Something in flight: keep the process alive until the answer comes. The worker too, not
    // only the port: a worker that dies (out of memory, say) closes the port before its 'exit'
    // event, and that event is what fails the batch; with nothing else ref'd the process would
    // exit first, its awaited call never settled.
    channel.port.ref()
    channel.worker.ref()
    return () => {
      // Stopping running code on a thread means stopping the thread; Piscina replaces it.
      if (!this.inFlight.has(batch[1]) || this.channel !== channel) return
      entry.stopped = true
      channel.terminating = true
      // Batches written from now on wait for the replacement (see above): they must carry every
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
    for (const send of this.waiting.splice(0)) send() // fails them: the node is closed
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
    port.on('message', (message: BatchResponse | NestedSubmit | NestedCancel | OutputLine) => this.receive(channel, message))
    port.unref()
    worker.once('exit', (code: number) => this.lost(channel, code))
    this.connected = this.pool.run({ connect: port2 }, { transferList: [port2] }).catch(() => {
      // The worker died before it took the port: its 'exit' fails what was sent and reconnects.
    })
    this.channel = channel
    return channel
  }

  private receive(channel: Channel, message: BatchResponse | NestedSubmit | NestedCancel | OutputLine): void {
    if (Array.isArray(message)) {
      const entry = this.settle(message[2])
      entry?.done(message)
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
    this.generation++ // a new worker knows none of the task definitions sent so far
    this.channel = undefined
    channel.port.close()
    for (const controller of channel.nested.values()) controller.abort(new Error('the task that submitted it is gone'))
    channel.nested.clear()
    const error = this.lastError ?? new Error(`worker exited with code: ${exitCode}`)
    this.lastError = undefined
    const entries = [...this.inFlight.keys()].map((id) => this.settle(id)!)
    if (entries.length === 0) {
      // Died while idle: only code left behind by a finished call can have done it.
      const crash = takeCrash(this.crashSlot)
      if (crash !== undefined && !this.closed) warnStrayCrash(this.describe(), crash, false)
    } else {
      const crash = takeCrash(this.crashSlot)
      for (const entry of entries) entry.failed(this.failure(error, entry.stopped, exitCode, crash, channel.terminating))
    }
    // A failed batch may have been sent again already, connecting to the replacement: a second
    // channel would orphan the first with its port still referenced (the process never exits).
    if (!this.closed && this.channel === undefined) this.connect()
    for (const send of this.waiting.splice(0)) send()
  }

  private settle(id: number): InFlight | undefined {
    const entry = this.inFlight.get(id)
    if (entry === undefined) return undefined
    this.inFlight.delete(id)
    if (this.inFlight.size === 0) {
      this.channel?.port.unref()
      this.channel?.worker.unref()
    }
    return entry
  }

  private failure(
    error: unknown,
    stopped: boolean,
    exitCode: number,
    crash: ReturnType<typeof takeCrash>,
    stoppedByUs: boolean,
  ): NodeFailure {
    if (stopped || this.closed) return new NodeFailure('aborted', 'aborted', { cause: error })
    // Another batch's deadline or cancellation stopped the thread: this batch is only interrupted.
    if (stoppedByUs) return new NodeFailure('crash', 'its worker was stopped to end another call', { interrupted: true })
    const outOfMemory = (error as { code?: string })?.code === 'ERR_WORKER_OUT_OF_MEMORY'
    return new NodeFailure('crash', outOfMemory ? 'ran out of memory (resourceLimits)' : (error as Error)?.message ?? String(error), {
      exitCode,
      crash,
      cause: error,
    })
  }
}
