/**
 * The caller's side of one actor: the mailbox that carries its calls (from the handle, from
 * comlink's proxies through endpoint.ts, from Pendings) to the node as pool calls of the actor
 * host (worker/actor-host.ts), pinned to the actor's node and thread. Calls run in call order;
 * those waiting behind a running pool call go together in the next one (batching), and one pool
 * call more than `concurrency` is out, so 20,000 calls submitted at once cost about twenty round
 * trips. A pool call that fails because the actor's state is gone (its worker exited, its node
 * was lost, a timeout stopped its worker) loses the actor: its pending and later calls fail with
 * ActorLostError, or with `restart` a new instance is made for the calls not yet sent.
 */
import { ActorLostError, ClosedError } from '../errors.js'
import { decodeThrown } from '../protocol/error-codec.js'
import type { CallOptions, CallSink } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'
import type { ActorAnswer, ActorPlace } from '../worker/actor-wire.js'
import { CALL, CLOSE, badArgument, classify, isLoss, place, type Wire } from './host-calls.js'
import type { ActorEvent, MethodOptions } from './types.js'

/** Messages one pool call carries at most (their replies come back in one answer). */
const MAX_BATCH = 1024

/** Who waits for a call's outcome: a promise of the handle, or a comlink proxy's endpoint (endpoint.ts). */
export interface Receiver {
  resolve(value: unknown): void
  reject(error: unknown): void
}

interface Letter {
  readonly wire: Wire
  readonly options: LetterOptions | undefined
  readonly to: Receiver
  /** Answered (or cancelled while queued): skipped when the queue reaches it. */
  done: boolean
  unwatch: (() => void) | undefined
}

/** A call's own options: a `with()` call's, or a Pending's (its run's deadline and signal, its pipeline's hook and step name, its span). */
export type LetterOptions = MethodOptions & Pick<CallOptions, 'onDispatch' | 'traceparent' | 'label'>

/** What an actor is made of, and how it behaves (checked options). */
export interface ActorSetup {
  readonly pool: CallSink
  /** The class, as `remote()` names it. */
  readonly task: TaskRef
  readonly args: readonly unknown[]
  /** `Counter#3`: the class and a number unique in this process. */
  readonly label: string
  readonly concurrency: number
  readonly restart: number
  readonly onEvent: ((event: ActorEvent) => void) | undefined
  /** Whether a timeout stops the actor's worker (every backend but inline). */
  readonly stopsOnTimeout: boolean
}

export class ActorLink {
  private state: 'live' | 'restarting' | 'lost' | 'closed' = 'live'
  private lostBy: ActorLostError | undefined
  private readonly queue: Letter[] = []
  private head = 0
  private inFlight = 0
  private pumpQueued = false
  private restartsLeft: number
  private closing: Promise<void> | undefined
  private idle: (() => void) | undefined
  /** Told once the actor has ended (closed or lost for good): the pool forgets it. */
  onEnd: (() => void) | undefined

  constructor(
    private readonly setup: ActorSetup,
    private where: ActorPlace,
  ) {
    this.restartsLeft = setup.restart
  }

  get label(): string {
    return this.setup.label
  }

  /** Calls `path` (APPLY), reads it (GET) or sets it (SET) on the instance: a promise of the outcome. */
  call(type: string, path: readonly string[], args: readonly unknown[], options?: LetterOptions): Promise<unknown> {
    return new Promise((resolve, reject) => this.enqueue([type, path, args], options, { resolve, reject }))
  }

  /** Queues a call; `to` hears how it ended. */
  enqueue(wire: Wire, options: LetterOptions | undefined, to: Receiver): void {
    const refused = this.refusal(wire, options)
    if (refused !== undefined) return to.reject(refused)
    const letter: Letter = { wire, options, to, done: false, unwatch: undefined }
    const signal = options?.signal
    if (signal !== undefined) {
      const cancel = () => this.settle(letter, false, signal.reason)
      signal.addEventListener('abort', cancel, { once: true })
      letter.unwatch = () => signal.removeEventListener('abort', cancel)
    }
    this.queue.push(letter)
    if (!this.pumpQueued) {
      // A microtask later: calls made together (a loop, Promise.all) go in one pool call.
      this.pumpQueued = true
      queueMicrotask(() => {
        this.pumpQueued = false
        this.pump()
      })
    }
  }

  /** Waits for the calls made so far, then disposes of the actor on its node. */
  close(): Promise<void> {
    return (this.closing ??= this.dispose())
  }

  /** The pool is closing: calls not yet sent fail, running ones may end, then the actor is disposed of. */
  shutdown(): Promise<void> {
    const closed = new ClosedError(`The pool was closed before this call to actor ${this.label} was sent.`)
    this.failQueued(closed)
    return this.close()
  }

  private async dispose(): Promise<void> {
    if (this.inFlight > 0 || this.waiting() || this.state === 'restarting') await new Promise<void>((resolve) => (this.idle = resolve))
    if (this.state !== 'live') return
    this.end('closed')
    const { id, worker, node } = this.where
    try {
      await this.setup.pool.submit(CLOSE, [id, worker], { node, solo: true, label: `${this.label} close` })
    } catch (error) {
      // Its node is gone (or the pool closed under it): nothing is left to dispose of.
      if (!isLoss(error) && (error as { code?: unknown } | null)?.code !== 'ERR_SPINDLE_CLOSED') throw error
    }
  }

  private refusal(wire: Wire, options: MethodOptions | undefined): Error | undefined {
    if (this.state === 'lost') return this.lostBy
    if (this.closing !== undefined || this.state === 'closed') {
      return new ClosedError(`Actor ${this.label} was closed: it takes no more calls. Create another with compute.actor().`)
    }
    if (options?.signal?.aborted === true) return options.signal.reason as Error
    return badArgument(`${this.label}.${wire[1].join('.')}${wire[0] === 'APPLY' ? '()' : ''}`, wire)
  }

  private pump(): void {
    // One pool call more than `concurrency` may be out: the node's host keeps the actor's calls
    // to `concurrency` at a time, in order, and the next batch is there when one ends.
    while (this.state === 'live' && this.inFlight <= this.setup.concurrency) {
      const letters = this.take()
      if (letters === undefined) break
      this.send(letters)
    }
    this.checkIdle()
  }

  /** The next pool call's letters: one with options alone, else as many as wait (up to MAX_BATCH). */
  private take(): Letter[] | undefined {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++
    if (this.head === this.queue.length) {
      this.queue.length = this.head = 0
      return undefined
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      // Under a steady stream the queue never empties: drop what was taken, now and then.
      this.queue.splice(0, this.head)
      this.head = 0
    }
    const first = this.queue[this.head++]!
    const letters = [first]
    if (first.options !== undefined) return letters
    while (letters.length < MAX_BATCH && this.head < this.queue.length) {
      const next = this.queue[this.head]!
      if (!next.done && next.options !== undefined) break
      this.head++
      if (!next.done) letters.push(next)
    }
    return letters
  }

  private send(letters: Letter[]): void {
    this.inFlight++
    const sentTo = this.where
    const first = letters[0]!
    first.unwatch?.() // from now on the pool watches its signal
    const method = first.wire[1].join('.')
    const options: CallOptions = {
      node: sentTo.node,
      solo: true,
      label: first.options?.label ?? (letters.length === 1 ? `${this.label}.${method}` : `${this.label} ×${letters.length}`),
      timeout: first.options?.timeout,
      signal: first.options?.signal,
      onDispatch: first.options?.onDispatch,
      traceparent: first.options?.traceparent,
    }
    const wires = new Array<unknown>(3 * letters.length) // flat: a structured clone costs per object
    for (let i = 0; i < letters.length; i++) {
      const [type, path, args] = letters[i]!.wire
      wires[3 * i] = type
      wires[3 * i + 1] = path
      wires[3 * i + 2] = args
    }
    this.setup.pool.submit(CALL, [sentTo.id, sentTo.worker, wires], options).then(
      (answer) => {
        this.inFlight--
        const [values, errors] = answer as ActorAnswer
        let failed = 0
        for (let i = 0; i < letters.length; i++) {
          if (errors !== undefined && failed < errors.length && errors[failed]![0] === i) this.settle(letters[i]!, false, decodeThrown(errors[failed++]![1]))
          else this.settle(letters[i]!, true, values[i])
        }
        this.pump()
      },
      (error: unknown) => {
        this.inFlight--
        this.failed(letters, error, sentTo, method)
        this.pump()
      },
    )
  }

  /** A pool call failed: for its own reason (a cancellation), or because the actor's state is gone. */
  private failed(letters: Letter[], error: unknown, sentTo: ActorPlace, method: string): void {
    const outcome = classify(error, `${this.label}.${method}()`, this.label, sentTo.node, this.setup.stopsOnTimeout)
    this.settleAll(letters, outcome.error)
    if (outcome.lost !== undefined && sentTo === this.where && this.state === 'live') this.lose(outcome.lost)
  }

  private lose(lost: ActorLostError): void {
    if (this.restartsLeft === 0 || this.closing !== undefined) {
      this.lostBy = lost
      this.end('lost')
      this.failQueued(lost)
      return
    }
    this.restartsLeft--
    this.state = 'restarting'
    place(this.setup, lost.node).then(
      (where) => {
        this.where = where
        this.state = 'live'
        const event: ActorEvent = { type: 'restarted', actor: this.label, node: where.node, cause: lost, restartsLeft: this.restartsLeft }
        try {
          this.setup.onEvent?.(event)
        } catch (error) {
          process.emitWarning(`An actor's onEvent listener threw: ${String(error)}. The actor goes on.`, { code: 'SPINDLE_LISTENER_ERROR' })
        }
        this.pump()
      },
      (error: unknown) => {
        this.state = 'live' // so that lose() ends it
        this.restartsLeft = 0
        const message = `Actor ${this.label} was lost (${lost.message}) and could not be created again: ${(error as Error)?.message ?? String(error)}`
        this.lose(new ActorLostError(message, this.label, lost.node, { cause: error }))
      },
    )
  }

  private end(state: 'lost' | 'closed'): void {
    this.state = state
    this.onEnd?.()
    this.checkIdle()
  }

  private failQueued(error: unknown): void {
    for (let i = this.head; i < this.queue.length; i++) this.settle(this.queue[i]!, false, error)
    this.queue.length = this.head = 0
    this.checkIdle()
  }

  private settleAll(letters: Letter[], error: unknown): void {
    for (const letter of letters) this.settle(letter, false, error)
  }

  private settle(letter: Letter, ok: boolean, outcome: unknown): void {
    if (letter.done) return
    letter.done = true
    letter.unwatch?.()
    if (ok) letter.to.resolve(outcome)
    else letter.to.reject(outcome)
  }

  private waiting(): boolean {
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.done) return true
    return false
  }

  private checkIdle(): void {
    if (this.idle === undefined || this.state === 'restarting') return
    if (this.state === 'live' && (this.inFlight > 0 || this.waiting())) return
    const idle = this.idle
    this.idle = undefined
    idle()
  }
}
