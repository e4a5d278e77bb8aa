/**
 * What `compute.on('node', listener)` hears. Each node reports its own life (backend.ts,
 * `NodeLifecycle`: ready, lost); NodeWatch turns the reports into public events, keeps each
 * node's state for `stats()`, and delivers every event a microtask later, never from inside a
 * backend's handling of a death. Each listener is called in its own try: one that throws (or
 * returns a promise that rejects) becomes a `SPINDLE_LISTENER_ERROR` warning, and the pool goes on.
 */
import type { EventEmitter } from 'node:events'
import type { Backend, BackendNode, NodeLifecycle } from '../backends/backend.js'
import { InvalidOptionError } from '../errors.js'
import { closest } from '../options.js'
import type { BackendKind } from '../worker/context.js'

interface NodeEventBase {
  /** The node's index: `instanceInfo().node` on it, what `{ node }` pins a call to. */
  readonly node: number
  readonly backend: BackendKind
  /** SSH: the host, as `hosts` named it. */
  readonly host?: string
  /** Process and SSH: the pid of the node's agent (on its host, for SSH). */
  readonly pid?: number
}

/**
 * The node can run calls: its worker thread (thread) or agent process (process) has started, or
 * a lost SSH host is connected again. SSH hosts are connected before `Compute.start()`
 * resolves, so their first `up` comes before anyone can listen (`stats()` says `'up'`).
 */
export interface NodeUpEvent extends NodeEventBase {
  readonly type: 'up'
}

/**
 * Why a node was lost. `'crash'`: its worker or agent died (`process.exit()`, an uncaught error,
 * out of memory, a signal); `'stopped'`: spindle stopped its worker thread to end a call (a
 * `timeout`, a cancellation); `'start'`: its worker could not start; `'connection'`: an SSH
 * connection ended or fell silent, or a Redis worker's heartbeat expired.
 */
export type NodeLostReason = 'crash' | 'stopped' | 'start' | 'connection'

/** The node's worker, agent or connection ended while the pool was open; its calls run again elsewhere or after `next`. */
export interface NodeLostEvent extends NodeEventBase {
  readonly type: 'lost'
  readonly reason: NodeLostReason
  /** What happened, in words (`Worker 1 (thread) exited with code 3`), with what the node saw as its `cause`. */
  readonly cause: Error
  /** `'replace'`: a new worker or agent is starting (`replaced` follows); `'reconnect'`: SSH retries (`up` follows, or `lost` with `'none'`); `'none'`: the node is out of the pool. */
  readonly next: 'replace' | 'reconnect' | 'none'
  readonly exitCode?: number | null
  readonly signal?: string | null
}

/** A new worker thread or agent process took a lost one's place and can run calls. */
export interface NodeReplacedEvent extends NodeEventBase {
  readonly type: 'replaced'
}

/**
 * The node left the pool of its own accord (a worker that dialled in and was told to stop): it
 * finished what it had begun, and its index is not used again. Nodes join with an `up`.
 */
export interface NodeLeftEvent extends NodeEventBase {
  readonly type: 'left'
}

export type NodeEvent = NodeUpEvent | NodeLostEvent | NodeReplacedEvent | NodeLeftEvent

/** The events a Compute emits, as EventEmitter's type map: `compute.on('node', (event) => ...)`. */
export interface ComputeEvents {
  node: [event: NodeEvent]
}

/**
 * Where a node is in its life, as its events tell it: `'starting'` until its first `up`,
 * `'replacing'` between `lost` and `replaced`, `'reconnecting'` (SSH), `'gone'` for good,
 * `'left'` once it left the pool, `'closed'` once `close()` was called. A node that is starting
 * or replacing takes calls already (they wait on it).
 */
export type NodeState = 'starting' | 'up' | 'replacing' | 'reconnecting' | 'gone' | 'left' | 'closed'

/** Names `on()` accepts: ours, and those EventEmitter and `events.once()` use themselves. */
const EVENT_NAMES = ['node', 'error', 'newListener', 'removeListener']

export class NodeWatch {
  readonly states: NodeState[] = []
  /** Per node: how many times its worker, agent or connection was lost. */
  readonly losses: number[] = []
  /** Per node: when it first came up (epoch ms); undefined before, and for nodes that do not report (inline). */
  readonly firstUp: Array<number | undefined> = []
  /** Per node: who waits for it to come up (see whenUp). */
  private readonly waiting: Array<Array<(at: number) => void>> = []
  private closed = false

  constructor(
    private readonly backend: Backend,
    private readonly emitter: EventEmitter,
    /** When the pool began to start (epoch ms): its nodes' start-up runs from here to their first `up`. */
    readonly startedAt: number,
  ) {
    // A misspelt event would never fire: refuse it, as options are (adding this first listener emits nothing).
    emitter.on('newListener', (name: string | symbol) => {
      if (typeof name !== 'string' || EVENT_NAMES.includes(name)) return
      const guess = closest(name, ['node'])
      throw new InvalidOptionError(`Unknown event "${name}" for compute.on(). ${guess !== undefined ? `Did you mean "${guess}"?` : 'A Compute emits "node".'}`)
    })
    for (const node of backend.nodes) this.add(node)
  }

  /** A node of the pool, there from the start or joining later. */
  add(node: BackendNode): void {
    this.states[node.index] = node.serveLifecycle === undefined ? 'up' : 'starting'
    this.losses[node.index] = 0
    this.firstUp[node.index] = undefined
    this.waiting[node.index] = []
    node.serveLifecycle?.((report) => this.report(node, report))
  }

  /**
   * Whether `node` is starting (or replacing a lost worker): then `then` is called with the time
   * it comes up, and a call sent to it waits for that. False for a node that can run calls now
   * (or never will): `then` is not called.
   */
  whenUp(node: number, then: (at: number) => void): boolean {
    const state = this.states[node]
    if (state !== 'starting' && state !== 'replacing') return false
    this.waiting[node]!.push(then)
    return true
  }

  /** From `close()` on, nodes that end are not lost: no more events. */
  close(): void {
    this.closed = true
    this.states.fill('closed')
    for (const list of this.waiting) list.length = 0
  }

  private report(node: BackendNode, report: NodeLifecycle): void {
    if (this.closed) return
    const i = node.index
    const where = {
      node: i,
      backend: this.backend.kind,
      ...(report.host !== undefined && { host: report.host }),
      ...(report.pid !== undefined && { pid: report.pid }),
    }
    let event: NodeEvent
    if (report.type === 'ready') {
      event = { type: this.states[i] === 'replacing' ? 'replaced' : 'up', ...where }
      this.states[i] = 'up'
      const at = Date.now()
      this.firstUp[i] ??= at
      for (const then of this.waiting[i]!.splice(0)) then(at)
    } else if (report.type === 'left') {
      event = { type: 'left', ...where }
      this.states[i] = 'left'
    } else {
      const { reason, cause, next, exitCode, signal } = report
      event = { type: 'lost', ...where, reason, cause, next, ...(exitCode !== undefined && { exitCode }), ...(signal !== undefined && { signal }) }
      if (this.states[i] !== 'reconnecting') this.losses[i]!++ // giving up on a reconnection is not a second loss
      this.states[i] = next === 'replace' ? 'replacing' : next === 'reconnect' ? 'reconnecting' : 'gone'
      if (next === 'none') this.waiting[i]!.length = 0 // it never comes up: its calls run elsewhere
    }
    queueMicrotask(() => deliver(this.emitter, event))
  }
}

function deliver(emitter: EventEmitter, event: NodeEvent): void {
  for (const listener of emitter.rawListeners('node') as Array<(event: NodeEvent) => unknown>) {
    try {
      const result = listener.call(emitter, event)
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        ;(result as PromiseLike<unknown>).then(undefined, (error: unknown) => warnListener(event, error))
      }
    } catch (error) {
      warnListener(event, error)
    }
  }
}

function warnListener(event: NodeEvent, error: unknown): void {
  const thrown = error instanceof Error ? `${error.name}: ${error.message}` : `the value ${String(error)}`
  process.emitWarning(
    `A 'node' event listener threw ${thrown} (event '${event.type}' of node ${event.node}). ` +
      'The pool goes on, and the other listeners were called; catch errors inside the listener.',
    { code: 'SPINDLE_LISTENER_ERROR' },
  )
}
