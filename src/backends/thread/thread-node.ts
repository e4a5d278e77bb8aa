/**
 * A node of the thread backend: one worker thread owned by its own single-thread Piscina. One
 * Piscina per node (rather than one for the pool) is what lets `broadcast` reach every thread
 * exactly once and `node:` pin a call, while Piscina still owns the thread's lifecycle:
 * start, replacement after a crash, termination on abort, unref when idle.
 */
import { Piscina } from 'piscina'
import type { ResourceLimits } from 'node:worker_threads'
import { NodeFailure, type BackendNode } from '../backend.js'
import { createCrashSlot, takeCrash } from '../../worker/crash-slot.js'
import type { BatchRequest, BatchResponse } from '../../protocol/messages.js'
import type { InstanceInfo } from '../../worker/context.js'
import { tsxApiUrl } from '../../worker/typescript-loader.js'

export interface ThreadWorkerData {
  info: InstanceInfo
  crashSlot: SharedArrayBuffer
  /** tsx's API, when the program runs under tsx and workers must register it themselves. */
  tsxApi: string | undefined
}

export interface ThreadNodeOptions {
  resourceLimits?: ResourceLimits | undefined
  env?: Record<string, string> | undefined
  execArgv?: string[] | undefined
}

const ENTRY = new URL('../../worker/thread-entry.js', import.meta.url).href

export class ThreadNode implements BackendNode {
  readonly slots = 1
  generation = 0
  private readonly crashSlot = createCrashSlot()
  private readonly pool: Piscina

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
      // 'disabled': between tasks the worker's event loop runs, so a timer a finished task left
      // behind fires (and is blamed on that task) before the next task starts, not during it.
      atomics: 'disabled',
      recordTiming: false, // Piscina's histograms: we keep our own figures
      workerData,
      ...(options.resourceLimits !== undefined && { resourceLimits: options.resourceLimits }),
      ...(options.env !== undefined && { env: options.env }),
      ...(options.execArgv !== undefined && { execArgv: options.execArgv }),
    })
    // A worker that dies while idle (a stray timer's error) is replaced by Piscina; without a
    // listener the 'error' event would crash the caller's process instead.
    this.pool.on('error', () => {})
    // Emitted before the failed task's promise rejects, so the next batch already re-sends definitions.
    this.pool.on('workerDestroy', () => this.generation++)
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
    const running = this.pool.run(batch, signal === undefined ? undefined : { signal }) as Promise<BatchResponse>
    running.then(done, (error: unknown) => failed(this.failure(error, signal)))
  }

  private failure(error: unknown, signal: AbortSignal | undefined): NodeFailure {
    const crash = takeCrash(this.crashSlot) // also clears what a terminated worker may have written
    if (signal?.aborted) return new NodeFailure('aborted', 'aborted', { cause: error })
    const message = (error as Error)?.message ?? String(error)
    const exitCode = /exited with code: (-?\d+)/.exec(message)?.[1]
    const outOfMemory = (error as { code?: string })?.code === 'ERR_WORKER_OUT_OF_MEMORY'
    return new NodeFailure('crash', outOfMemory ? 'ran out of memory (resourceLimits)' : message, {
      exitCode: exitCode === undefined ? null : Number(exitCode),
      crash,
      cause: error,
    })
  }

  /** Terminates the thread (the dispatcher has already waited for running work). */
  close(): Promise<void> {
    return this.pool.destroy()
  }
}
