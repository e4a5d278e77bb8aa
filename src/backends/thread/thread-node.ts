/**
 * A node of the thread backend: one worker thread, owned by its own single-thread Piscina.
 *
 * Piscina owns the thread's lifecycle: start, `resourceLimits`, replacement after it dies,
 * unref while idle, termination on close. One Piscina per node (not one for the pool) is what
 * lets `broadcast` reach every thread exactly once and `node:` pin a call.
 *
 * Batches travel on a MessageChannel of our own, handed to each new worker inside the first
 * batch it runs (a Piscina task). Piscina's per-task path costs ~3 µs per round trip that a
 * plain port does not, and the dispatcher already does the queueing; the port is ref'd only
 * while a batch is in flight, so an idle pool still never keeps the process alive.
 */
import { MessageChannel, type MessagePort, type ResourceLimits, type Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { NodeFailure, type BackendNode } from '../backend.js'
import { createCrashSlot, takeCrash, warnStrayCrash } from '../../worker/crash-slot.js'
import type { BatchRequest, BatchResponse } from '../../protocol/messages.js'
import type { InstanceInfo } from '../../worker/context.js'
import { tsxApiUrl } from '../../worker/typescript-loader.js'
import type { ConnectMessage, ThreadWorkerData } from '../../worker/thread-entry.js'

export interface ThreadNodeOptions {
  resourceLimits?: ResourceLimits | undefined
  env?: Record<string, string> | undefined
  execArgv?: string[] | undefined
}

interface InFlight {
  done: (response: BatchResponse) => void
  failed: (failure: NodeFailure) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

const ENTRY = new URL('../../worker/thread-entry.js', import.meta.url).href

export class ThreadNode implements BackendNode {
  readonly slots = 1
  generation = 0
  private readonly crashSlot = createCrashSlot()
  private readonly pool: Piscina
  private channel: { port: MessagePort; worker: Worker } | undefined
  private inFlight: InFlight | undefined
  private lastError: unknown
  private closed = false

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
  }

  describe(): string {
    return `thread ${this.index}`
  }

  execute(
    batch: BatchRequest,
    signal: AbortSignal | undefined,
    done: (response: BatchResponse) => void,
    failed: (failure: NodeFailure) => void,
  ): void {
    if (this.channel !== undefined) return this.send(this.channel, batch, { done, failed, signal, onAbort: undefined })
    // No channel to the current worker yet: this batch goes as a Piscina task and brings one.
    const { port1, port2 } = new MessageChannel()
    const message: ConnectMessage = { connect: port2, batch }
    const generation = this.generation
    this.pool.run(message, { transferList: [port2], ...(signal !== undefined && { signal }) }).then(
      (response: BatchResponse) => {
        if (generation === this.generation) this.attach(port1)
        else port1.close()
        done(response)
      },
      (error: unknown) => {
        port1.close()
        failed(this.failure(error, signal, null))
      },
    )
  }

  /** Terminates the thread (the dispatcher has already waited for running work). */
  close(): Promise<void> {
    this.closed = true
    return this.pool.destroy()
  }

  private send(channel: { port: MessagePort; worker: Worker }, batch: BatchRequest, entry: InFlight): void {
    this.inFlight = entry
    if (entry.signal !== undefined) {
      // Stopping running code on a thread means stopping the thread; Piscina replaces it.
      entry.onAbort = () => void channel.worker.terminate()
      entry.signal.addEventListener('abort', entry.onAbort, { once: true })
    }
    channel.port.ref() // in flight: keep the process alive until the answer comes
    channel.port.postMessage(batch)
  }

  private attach(port: MessagePort): void {
    const worker = this.pool.threads[0]
    if (this.closed || worker === undefined || worker.threadId < 0) return void port.close()
    port.on('message', (response: BatchResponse) => this.settle()?.done(response))
    port.unref()
    worker.once('exit', (code: number) => this.lost(code))
    this.channel = { port, worker }
  }

  /** The worker behind the channel exited: fail what was in flight, and forget the channel. */
  private lost(exitCode: number): void {
    this.generation++ // a new worker knows none of the task definitions sent so far
    this.channel?.port.close()
    this.channel = undefined
    const entry = this.settle()
    const error = this.lastError ?? new Error(`worker exited with code: ${exitCode}`)
    this.lastError = undefined
    if (entry !== undefined) return entry.failed(this.failure(error, entry.signal, exitCode))
    // Died while idle: only code left behind by a finished call can have done it.
    const crash = takeCrash(this.crashSlot)
    if (crash !== undefined && !this.closed) warnStrayCrash(this.describe(), crash, 0)
  }

  private settle(): InFlight | undefined {
    const entry = this.inFlight
    if (entry === undefined) return undefined
    this.inFlight = undefined
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort)
    this.channel?.port.unref()
    return entry
  }

  private failure(error: unknown, signal: AbortSignal | undefined, exitCode: number | null): NodeFailure {
    const crash = takeCrash(this.crashSlot) // also clears what a terminated worker may have written
    if (signal?.aborted || this.closed) return new NodeFailure('aborted', 'aborted', { cause: error })
    const message = (error as Error)?.message ?? String(error)
    const code = exitCode ?? Number(/exited with code: (-?\d+)/.exec(message)?.[1] ?? Number.NaN)
    const outOfMemory = (error as { code?: string })?.code === 'ERR_WORKER_OUT_OF_MEMORY'
    return new NodeFailure('crash', outOfMemory ? 'ran out of memory (resourceLimits)' : message, {
      exitCode: Number.isNaN(code) ? null : code,
      crash,
      cause: error,
    })
  }
}
