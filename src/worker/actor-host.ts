/**
 * The node side of actors: a built-in task module whose calls, pinned to a node (and on a
 * process or SSH node to a thread), construct a user's class and keep the instance in this
 * thread's table, run calls against it, and dispose of it. A method of the instance is called
 * directly; property reads, sets and deeper paths go to comlink's `expose` over a local endpoint.
 * Each call arrives in a pool call and its outcome is that call's result, so calls get the pool's
 * timeouts, cancellation, crash blame and lost-node handling for free.
 */
import { expose, type Endpoint } from 'comlink'
import { NotCloneableError, SpindleError } from '../errors.js'
import { encodeThrown } from '../protocol/error-codec.js'
import { findNotCloneable } from '../protocol/cloneable.js'
import { isThenable } from '../thenable.js'
import { currentContext } from './context.js'
import { loadTask } from './task-loader.js'
import { alreadyChecked } from './runtime.js'
import type { EncodedThrown } from '../protocol/error-codec.js'
import type { ActorAnswer, ActorPlace } from './actor-wire.js'

/** comlink's messages and replies, as far as the host reads them. */
interface Message {
  readonly id: string
  readonly type: string
  readonly path: readonly string[]
  readonly argumentList?: ReadonlyArray<{ type: string; value: unknown }>
  readonly value?: { type: string; value: unknown }
}
interface Reply {
  id: string
  type: string
  name?: string
  value: unknown
}

interface Hosted {
  readonly instance: object
  readonly label: string
  /** Hands one message to comlink; `then` hears its reply. */
  readonly deliver: (message: Message, then: (reply: Reply) => void) => void
  /** How many of its calls may run at once, how many do, and those waiting for a turn (in arrival order). */
  readonly concurrency: number
  running: number
  readonly turns: Array<() => void>
}

/** This thread's actors, by id. Ids are this thread's own: the caller learns one at creation. */
const actors = new Map<number, Hosted>()
let nextId = 1

/** `new Class(...args)` from the module, kept here; gives where it lives. */
export async function createActor(module: string, name: string, args: unknown[], concurrency = 1): Promise<ActorPlace> {
  const Class = (await loadTask(module, name)) as unknown as new (...args: unknown[]) => object
  let instance: object
  try {
    instance = new Class(...args)
  } catch (error) {
    if (error instanceof TypeError && /not a constructor/.test(error.message)) {
      throw new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', `compute.actor() needs a class: export "${name}" of ${module} is a function that cannot be called with \`new\`.`)
    }
    throw error
  }
  const id = nextId++
  actors.set(id, { ...host(instance, name), concurrency, running: 0, turns: [] })
  const info = currentContext()
  return { id, node: info?.node ?? 0, worker: info?.worker ?? 0 }
}

/** Message ids for comlink, this thread's own (the caller never sees them). */
let nextMessage = 1

/**
 * Runs calls against actor `id` and gives their outcomes in order: `wires` is flat,
 * `[type, path, args, ...]` per call (comlink's message type GET, SET or APPLY, the path, the
 * argument values). They start in the order they arrive (the caller's mailbox sends them in call
 * order), at most `concurrency` of the actor's calls at a time, whichever pool call brought them.
 * Callbacks, not promises: in a worker every promise pays for the call-owner hooks. A pool call
 * whose calls all ended at once answers at once (no promise at all).
 */
export function callActor(id: number, _worker: number, wires: readonly unknown[]): ActorAnswer | Promise<ActorAnswer> {
  const actor = hosted(id)
  const n = wires.length / 3
  const values = new Array<unknown>(n)
  let errors: Array<[number, EncodedThrown]> | undefined
  let left = n
  let resolve: ((answer: ActorAnswer) => void) | undefined
  const answer = (): ActorAnswer => {
    errors?.sort((x, y) => x[0] - y[0])
    return alreadyChecked([values, errors])
  }
  for (let i = 0; i < n; i++) {
    const type = wires[3 * i] as string
    const path = wires[3 * i + 1] as string[]
    inTurn(actor, type, path, wires[3 * i + 2] as unknown[], (reply) => {
      const failure = failureOf(actor.label, type, path, reply)
      if (failure === undefined) values[i] = reply.value
      else (errors ??= []).push([i, encodeThrown(failure)])
      if (--left === 0) resolve?.(answer())
    })
  }
  return left === 0 ? answer() : new Promise((settle) => (resolve = settle))
}

function inTurn(actor: Hosted, type: string, path: string[], args: unknown[], then: (reply: Reply) => void): void {
  const end = (reply: Reply) => {
    then(reply)
    const next = actor.turns.shift()
    if (next !== undefined) next() // its slot goes to the next call
    else actor.running--
  }
  const start = () => {
    // A method of the instance itself is called here; comlink serves the rest (properties, deeper paths).
    if (type === 'APPLY' && path.length === 1) return apply(actor, path[0]!, args, end)
    const id = String(nextMessage++)
    const message: Message =
      type === 'SET' ? { id, type, path, value: { type: 'RAW', value: args[0] } } : { id, type, path, argumentList: args.map((value) => ({ type: 'RAW', value })) }
    actor.deliver(message, end)
  }
  if (actor.running < actor.concurrency && actor.turns.length === 0) {
    actor.running++
    start()
  } else {
    actor.turns.push(start)
  }
}

/**
 * `instance[name](...args)`, what comlink's APPLY of a one-name path does, without its four
 * promises per call and its message objects (a sixth of a method's round trip on a thread);
 * its outcome in comlink's reply form. A synchronous method ends before this returns.
 */
function apply(actor: Hosted, name: string, args: unknown[], end: (reply: Reply) => void): void {
  const ok = (value: unknown) => end({ id: '', type: 'RAW', value })
  const failed = (thrown: unknown) => end({ id: '', type: 'HANDLER', name: 'throw', value: { isError: false, value: new Fault(thrown) } })
  let result: unknown
  try {
    const method = Reflect.get(actor.instance, name, actor.instance) as unknown
    if (typeof method !== 'function') throw new TypeError(`${actor.label}.${name} is not a method (it is ${typeof method})`)
    result = (method as (...a: unknown[]) => unknown).apply(actor.instance, args)
  } catch (thrown) {
    return failed(thrown)
  }
  if (isThenable(result)) Promise.resolve(result).then(ok, failed)
  else ok(result)
}

/** Forgets actor `id` and awaits its `Symbol.asyncDispose` (or `Symbol.dispose`), if it has one. */
export async function closeActor(id: number, _worker: number): Promise<void> {
  const actor = actors.get(id)
  if (actor === undefined) return // lost already: nothing is left to dispose
  actors.delete(id)
  const instance = actor.instance as { [Symbol.asyncDispose]?: () => unknown; [Symbol.dispose]?: () => unknown }
  if (typeof instance[Symbol.asyncDispose] === 'function') await instance[Symbol.asyncDispose]!()
  else if (typeof instance[Symbol.dispose] === 'function') instance[Symbol.dispose]!()
}

function hosted(id: number): Hosted {
  const actor = actors.get(id)
  if (actor !== undefined) return actor
  const info = currentContext()
  const where = info === undefined ? 'this worker' : `node ${info.node} (worker ${info.worker})`
  throw new SpindleError(
    'ERR_SPINDLE_ACTOR_LOST',
    `Actor ${id} is not on ${where}: the worker it lived on was replaced since it was created, and its state went with it.`,
  )
}

/** comlink's `expose` over an endpoint whose messages come from `deliver` and whose replies settle them. */
function host(instance: object, label: string): Pick<Hosted, 'instance' | 'label' | 'deliver'> {
  let listener: ((event: { data: Message }) => void) | undefined
  const waiting = new Map<string, (reply: Reply) => void>()
  const endpoint: Endpoint = {
    postMessage(reply: Reply) {
      const settle = waiting.get(reply.id)
      waiting.delete(reply.id)
      settle?.(reply)
    },
    addEventListener(_type, handler) {
      listener = handler as unknown as typeof listener
    },
    removeEventListener() {
      listener = undefined
    },
  }
  expose(guarded(instance), endpoint)
  const deliver = (message: Message, then: (reply: Reply) => void) => {
    waiting.set(message.id, then)
    listener!({ data: message })
  }
  return { instance, label, deliver }
}

/**
 * The instance as comlink sees it: its methods run with the instance itself as `this` (private
 * fields work), and what they throw is kept as it is: comlink's own encoding of a thrown Error
 * keeps only message, name and stack, so it is handed a Fault (a plain object it passes as it
 * is) and the error inside is encoded losslessly, as any task's.
 */
function guarded(instance: object): object {
  const proxy: object = new Proxy(instance, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target)
      if (typeof value !== 'function') return value
      return function (this: unknown, ...args: unknown[]) {
        try {
          const result = (value as (...a: unknown[]) => unknown).apply(this === proxy ? target : this, args)
          return isThenable(result) ? Promise.resolve(result).then(undefined, (e: unknown) => Promise.reject(new Fault(e))) : result
        } catch (error) {
          throw new Fault(error)
        }
      }
    },
  })
  return proxy
}

/** What a method threw, wrapped so that comlink passes it on untouched. */
class Fault {
  constructor(readonly thrown: unknown) {}
}

/** Why a call failed, from comlink's reply (undefined when it did not); a value that cannot be sent back is a failure too. */
function failureOf(label: string, type: string, path: readonly string[], reply: Reply): unknown {
  const what = type === 'APPLY' ? `Method ${label}.${path.join('.')}()` : `Property ${label}.${path.join('.')}`
  if (reply.type === 'HANDLER' && reply.name === 'throw') {
    const carried = reply.value as { isError: boolean; value: unknown }
    if (carried.value instanceof Fault) return carried.value.thrown
    const value = carried.value as { message?: string }
    return carried.isError ? Object.assign(new Error(value.message), value) : carried.value // thrown outside a method (a getter of a nested path)
  }
  if (reply.type !== 'RAW') {
    return new NotCloneableError(`${what} of an actor gave a comlink ${reply.name ?? ''} value, which cannot travel to the caller. Return plain data.`, 'result')
  }
  const bad = findNotCloneable(reply.value, 'result')
  if (bad === undefined) return undefined
  return new NotCloneableError(
    `${what} of an actor gave a value that cannot be sent back: ${bad.path} is ${bad.what}. ` +
      'Return plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date); keep the rest in the actor.',
    bad.path,
  )
}
