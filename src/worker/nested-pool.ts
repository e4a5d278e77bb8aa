/**
 * The pool as a running task sees it: calls it submits (parallelMap inside a task) travel up
 * the worker's channel to the dispatcher that runs every call of the pool, so a fan-out inside
 * a task shares the pool's threads instead of starting its own. While the task awaits them,
 * its own thread is lent to the pool: it never deadlocks when every worker is busy.
 */
import type { MessagePort } from 'node:worker_threads'
import { decodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import type { NestedReply, NestedSubmit } from '../protocol/messages.js'
import type { CallOptions, CallSink } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'
import { currentCallSeq } from './runtime.js'

export class PortPool implements CallSink {
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()

  constructor(
    private readonly port: MessagePort,
    readonly nodes: number,
    readonly sharedMemory: boolean,
  ) {}

  submit(task: TaskRef, args: readonly unknown[], options: CallOptions): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const { signal } = options
      if (signal?.aborted) return reject(signal.reason)
      const onAbort = () => {
        if (!this.waiting.delete(id)) return
        this.port.postMessage({ cancel: id })
        reject(signal!.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const settle = (fn: (v: unknown) => void) => (v: unknown) => {
        signal?.removeEventListener('abort', onAbort)
        fn(v)
      }
      this.waiting.set(id, { resolve: settle(resolve), reject: settle(reject) })
      const message: NestedSubmit = {
        submit: id,
        parent: currentCallSeq() ?? -1,
        task: [task.module, task.name],
        args,
        timeout: options.timeout,
        costKey: options.costKey,
      }
      this.port.postMessage(message)
    })
  }

  /** An answer from the caller's side. */
  reply(message: NestedReply): void {
    const waiter = this.waiting.get(message.reply)
    if (waiter === undefined) return
    this.waiting.delete(message.reply)
    if (message.ok) waiter.resolve(message.value)
    else waiter.reject(decodeThrown(message.error as EncodedThrown))
  }
}
