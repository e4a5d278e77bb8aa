/**
 * The endpoint a comlink proxy of an actor posts to (`actor.with(options)`, and paths below a
 * member: `actor.config.load()`): comlink's messages go into the actor's mailbox, and their
 * outcomes come back to the proxy as comlink's replies. The handle's own members skip comlink on
 * this side (actor.ts: the common call, made cheaper); the node side is comlink's `expose` for both.
 */
import type { Endpoint } from 'comlink'
import { NotCloneableError, SpindleError } from '../errors.js'
import type { ActorLink, Receiver } from './link.js'
import type { MethodOptions } from './types.js'

interface WireValue {
  readonly type: string
  readonly name?: string
  readonly value: unknown
}
interface Message {
  readonly id: string
  readonly type: string
  readonly path?: readonly string[]
  readonly argumentList?: readonly WireValue[]
  readonly value?: WireValue
}
interface Reply extends WireValue {
  readonly id: string
}

export class ActorEndpoint implements Endpoint {
  private listener: ((event: { data: Reply }) => void) | undefined

  constructor(
    private readonly link: ActorLink,
    private readonly options: MethodOptions | undefined,
  ) {}

  postMessage(message: Message): void {
    const to = this.receiver(message.id)
    // comlink releases an endpoint once all its proxies are collected; close() is what disposes.
    if (message.type === 'RELEASE') return queueMicrotask(() => to.resolve(undefined))
    const path = message.path ?? []
    if (message.type !== 'GET' && message.type !== 'SET' && message.type !== 'APPLY') {
      const error = new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', `Actor ${this.link.label}: comlink's ${message.type} (of ${path.join('.')}) is not for actors. Call methods, read properties.`)
      return queueMicrotask(() => to.reject(error))
    }
    const values = message.type === 'SET' ? [message.value!] : (message.argumentList ?? [])
    const special = values.findIndex((wire) => wire.type !== 'RAW')
    if (special !== -1) {
      const error = new NotCloneableError(
        `Actor ${this.link.label}, ${path.join('.')}: arguments[${special}] is a comlink ${values[special]!.name ?? ''} value, which an actor's calls cannot carry (they travel as pool calls, to other processes and hosts too). Pass plain data.`,
        `arguments[${special}]`,
      )
      return queueMicrotask(() => to.reject(error))
    }
    this.link.enqueue([message.type, path, values.map((wire) => wire.value)], this.options, to)
  }

  addEventListener(_type: string, listener: unknown): void {
    this.listener = listener as typeof this.listener
  }

  removeEventListener(): void {
    this.listener = undefined
  }

  /** Outcomes as comlink's replies to message `id`: a thrown value reaches the proxy's caller as it is. */
  private receiver(id: string): Receiver {
    return {
      resolve: (value) => this.listener?.({ data: { id, type: 'RAW', value } }),
      reject: (error) => this.listener?.({ data: { id, type: 'HANDLER', name: 'throw', value: { isError: false, value: error } } }),
    }
  }
}
