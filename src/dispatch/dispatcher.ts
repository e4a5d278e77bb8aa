/**
 * The dispatcher owns the queue of calls and keeps every node busy: work-conserving (a node with
 * a free slot never idles while a call it may run is queued), batched (a deep queue goes out
 * several calls per message, sized by measured cost), and the one place where the fates of
 * calls are decided: settled from outcomes, blamed for crashes they caused, retried elsewhere
 * when a node is lost under them, stopped at their deadline, cancelled by their signal.
 * It imports no worker API: any Backend will do.
 */
import type { Backend, BackendNode, NodeFailure } from '../backends/backend.js'
import type { BatchResponse } from '../protocol/messages.js'
import { BatchWriter, taskId } from './batch-writer.js'
import type { TaskRef } from '../task/pending.js'
import { BatchSizer } from './batch-sizer.js'
import type { CallOptions } from '../task/call-sink.js'
import { Call, watchedCall, type CallObserver, type RunningBatch } from './call.js'
import { CallQueue } from './call-queue.js'
import { DispatchStats, unsettled } from './dispatch-stats.js'
import { AbortWatch } from './abort-watch.js'
import { handleNodeFailure, handleUnsendable, settleCalls, timeoutError } from './failures.js'
import { askBack, batchToTakeBack, cancelCall } from './steal.js'
import { NestedCalls } from './nested-calls.js'
import { runningCall, taskOutput, type OutputSink } from './task-output.js'
import { closedError, failStranded, nowhereToRun } from './unrunnable.js'
import { Membership } from './membership.js'

export interface DispatcherOptions {
  /** How many times a call may be interrupted by a lost node before it fails. */
  interruptionRetries: number
  /** Where the lines tasks print go. */
  output: OutputSink
  /** Hears each node that joins after the start, once the dispatcher has it (Compute's node events). */
  joined?: (node: BackendNode) => void
}

export class Dispatcher {
  private readonly waiting = new CallQueue()
  /** Per node, by index: batches it may still be sent. */
  private readonly free: number[] = []
  private readonly writer = new BatchWriter()
  /** The nodes taking part now (membership.ts): what broadcast reaches and tasks count. */
  readonly members: Membership
  private readonly running = new Set<RunningBatch>()
  private readonly nested = new NestedCalls((node, slots) => (this.free[node]! += slots))
  private readonly sizer = new BatchSizer()
  /** Counts and timings for `compute.stats()` (dispatch-stats.ts). */
  readonly stats: DispatchStats
  private readonly abortWatch = new AbortWatch<Call>((call, reason) => cancelCall(call, reason, this.waiting))
  private nextSeq = 1
  private closed = false
  private pumping = false
  private pumpQueued = false
  private drained: (() => void) | undefined
  /** Calls per batch for a batch headed by `head`, with `waiting` calls queued (one function: no closure per pump). */
  private readonly batchSize = (head: Call, waiting: number): number => this.sizer.size(head.costKey, waiting, this.members.size)
  /** Set while a recorder watches (Compute manages it); checked once per call or batch. */
  observer: CallObserver | undefined = undefined

  constructor(
    readonly backend: Backend,
    readonly options: DispatcherOptions,
  ) {
    this.stats = new DispatchStats()
    this.members = new Membership(backend)
    for (const node of backend.nodes) this.join(node)
    backend.serveJoin?.((node) => {
      this.join(node)
      this.members.joined(node)
      this.options.joined?.(node)
      this.pump(true)
    })
  }

  /** A node of the pool, from the start or joining later: its slots, queue and handlers. */
  private join(node: BackendNode): void {
    this.free[node.index] = node.slots
    this.waiting.addNode(node.index)
    this.writer.addNode(node)
    this.stats.addNode(node.index)
    node.serveNested?.((parent, task, args, options) => this.submitNested(node.index, parent, task, args, options))
    node.serveOutput?.(taskOutput(this.options.output, this.running, this.backend, node))
    node.servePartial?.((seq, data) => runningCall(this.running, node, seq)?.options.onPartial?.(data))
    node.watch?.(() => this.stateChanged(node))
  }

  /** What a call of `task` has cost on a node so far, in ms (undefined before one has run). */
  msPerCall(task: TaskRef): number | undefined {
    return this.sizer.msPerCall(taskId(task))
  }

  /** Calls waiting to be sent, and calls sent to a node that have not settled (running, or waiting there behind another batch). */
  counts(): { queued: number; running: number } {
    return { queued: this.waiting.size, running: unsettled(this.running) }
  }

  /** Queues one call; `resolve`/`reject` are called exactly once. */
  submit(
    task: TaskRef,
    args: readonly unknown[],
    options: CallOptions,
    resolve: (value: unknown) => void,
    reject: (reason: unknown) => void,
    front = false,
  ): void {
    const call =
      this.observer === undefined
        ? new Call(this.nextSeq++, task, taskId(task), args, options, resolve, reject)
        : watchedCall(this.observer, this.nextSeq++, task, taskId(task), args, options, resolve, reject)
    this.stats.submitted++
    if (this.closed) return call.reject(closedError(call))
    const { signal } = options
    const nowhere = nowhereToRun(this.backend, call)
    if (nowhere !== undefined) return call.reject(nowhere)
    if (signal !== undefined) {
      if (signal.aborted) return call.reject(signal.reason)
      call.abortWatch = this.abortWatch
      this.abortWatch.watch(call, signal)
    }
    call.queuedAt = this.stats.stamp()
    this.waiting.add(call, front)
    this.pumpSoon()
  }

  /** A call submitted by call `parent`, running on node `from` (nested-calls.ts): at the front of the queue, to finish what has started. */
  submitNested(from: number, parent: number, task: TaskRef, args: readonly unknown[], options: CallOptions): Promise<unknown> {
    const nested = this.nested.begin(from, parent, options)
    return new Promise<unknown>((resolve, reject) => this.submit(task, args, nested, resolve, reject, true)).finally(() => this.nested.end(from, parent))
  }

  /** Rejects queued calls and those not started (taken back), waits up to `closeTimeout` ms for running ones, then stops the nodes. */
  async close(closeTimeout: number): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const call of this.waiting.drain()) call.reject(closedError(call))
    for (const batch of [...this.running]) batch.control?.('revoke') // a batch taken back fails as closed (fail)
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.drained = resolve
        timer = setTimeout(resolve, closeTimeout)
      })
      clearTimeout(timer)
    }
    // Whatever still runs has had its time: the backend stops it now.
    await this.backend.close()
    this.stats.endedAt = performance.now()
  }

  /** Puts interrupted calls back at the head of their queue, in their original order. */
  requeue(calls: Call[], takenBack = false): void {
    // An interrupted call waits anew; one taken back before it started is still in its first wait.
    const now = takenBack || calls.length === 0 ? 0 : performance.now()
    for (let i = calls.length - 1; i >= 0; i--) {
      const call = calls[i]!
      if (this.closed) {
        call.reject(closedError(call))
        continue
      }
      call.state = 'queued'
      const nowhere = nowhereToRun(this.backend, call)
      if (nowhere !== undefined) {
        call.reject(nowhere)
        continue
      }
      this.observer?.queued(call, takenBack)
      if (!takenBack) call.queuedAt = now
      this.waiting.add(call, true)
    }
  }

  /**
   * A node's state changed (backend.ts, NodeState). Lost or closed: the calls pinned to it cannot
   * run anywhere else and fail, and when no node can ever run anything again, so does
   * everything queued. Draining: what waits on it is asked back, to run elsewhere.
   */
  private stateChanged(node: BackendNode): void {
    this.members.refresh()
    const state = node.state ?? 'ready'
    if (state === 'draining') for (const batch of this.running) if (batch.node === node) askBack(batch)
    if (state === 'draining' || state === 'lost' || state === 'closed') failStranded(this.waiting, this.backend, node)
    this.pump(true)
  }

  /**
   * A submit pumps a microtask later, once the code submitting has run its course: calls
   * submitted together, by a loop or by the continuations of calls that just ended, go out
   * together. Sending each at once would send the first alone to a free node, and so would
   * every refill of a caller that keeps a window of calls in flight.
   */
  private pumpSoon(): void {
    if (this.pumpQueued) return
    this.pumpQueued = true
    queueMicrotask(() => {
      this.pumpQueued = false
      try {
        this.pump()
      } finally {
        this.stats.fresh = false // the batches sent here were stamped with the submits' clock
      }
    })
  }

  /**
   * Hands out batches one per node per pass, idlest nodes first: a node's second slot (work
   * waiting in its port) is filled only once every node has something to run. After a batch
   * ends with the queue empty, a node left idle takes back a batch sent ahead to a busy one.
   */
  private pump(ended = false): void {
    if (this.pumping) return
    this.pumping = true
    try {
      const nodes = this.backend.nodes
      do {
        for (let progress = true; progress && this.waiting.size > 0; ) {
          progress = false
          const order = nodes.filter((n) => this.free[n.index]! > 0 && (n.state ?? 'ready') === 'ready').sort((a, b) => a.slots - this.free[a.index]! - (b.slots - this.free[b.index]!)) // fewest slots taken first
          for (const node of order) {
            const calls = this.waiting.take(node.index, this.free[node.index] === node.slots, this.batchSize)
            if (calls === undefined) continue
            this.send(node, calls)
            progress = true
          }
        }
      } while (ended && this.waiting.size === 0 && this.steal())
    } finally {
      this.pumping = false
    }
  }

  /** Work stealing (steal.ts): for an idle node, asks back a batch waiting on a busy one; true if it did. */
  private steal(): boolean {
    const batch = this.closed ? undefined : batchToTakeBack(this.backend.nodes, this.free, this.running)
    if (batch !== undefined) askBack(batch)
    return batch !== undefined
  }

  private send(node: BackendNode, calls: Call[]): void {
    const batch: RunningBatch = { node, calls, control: undefined, revoking: false, timer: undefined, sentAt: this.stats.now() }
    for (const call of calls) {
      call.state = 'running'
      call.batch = batch
      call.options.onDispatch?.(node.index, call.interruptions + 1)
    }
    const timeout = calls[0]!.options.timeout
    if (timeout !== undefined) {
      // Alone in its batch on a free node, the call starts now: the deadline counts from here.
      batch.timer = setTimeout(() => (batch.calls[0]!.reject(timeoutError(batch, timeout)), batch.control?.('stop')), timeout)
    }
    if (this.observer !== undefined) this.observer.sent(calls, node.index)
    this.free[node.index]!--
    this.running.add(batch)
    const request = this.writer.request(node, calls, this.members.updateFor(node))
    try {
      batch.control = node.execute(
        request,
        (response) => this.complete(batch, response),
        (failure) => this.fail(batch, failure),
      )
    } catch (error) {
      this.writer.unsent(node, request)
      this.members.unsent(node, request)
      this.release(batch)
      if (handleUnsendable(this, batch, error)) this.pumpSoon()
    }
  }

  private complete(batch: RunningBatch, response: BatchResponse): void {
    this.release(batch)
    const { calls } = batch
    const [ms, errors] = response
    if (this.observer !== undefined) this.observer.ran(calls, ms)
    if (calls.every((c) => c.costKey === calls[0]!.costKey)) this.sizer.record(calls[0]!.costKey, calls.length, ms)
    this.stats.ran(batch, ms)
    const resolved = settleCalls(calls, response)
    this.stats.completed += resolved
    this.pump(true)
  }

  private fail(batch: RunningBatch, failure: NodeFailure): void {
    this.release(batch)
    if (this.closed) {
      for (const call of batch.calls) call.reject(closedError(call)) // taken back or stopped by close()
      return
    }
    handleNodeFailure(this, batch, failure)
    this.pump(true)
  }

  private release(batch: RunningBatch): void {
    clearTimeout(batch.timer)
    this.running.delete(batch)
    this.free[batch.node.index]!++
    if (this.running.size === 0) this.drained?.()
  }
}
