/**
 * The types of actors: the options of `compute.actor()` and of a method call, and the handle a
 * caller holds, typed from the class as comlink's `Remote` types a proxy (each method returns a
 * promise of its result; a property read is a promise of its value, and its members are reached
 * the same way). Written here rather than taken from comlink: its declarations name DOM types
 * (MessagePort, Transferable), which a Node program's TypeScript does not have.
 */
import type { Pending } from '../task/pending.js'
import type { DeferrableArgs } from '../task/remote.js'

/** Options of `compute.actor()` and `compute.actors()`, given after the constructor's arguments. */
export interface ActorOptions {
  /** The node it lives on (an index). Default: the node the pool picks for its creation. */
  readonly node?: number | undefined
  /**
   * How many of its method calls may run at once (interleaved on its one thread, for async
   * methods). With 1, calls run one at a time in call order.
   * @default 1
   */
  readonly concurrency?: number | undefined
  /**
   * How many times it is created again (with the same constructor arguments, on the same node)
   * after its state was lost. The calls pending at the loss still fail with `ActorLostError`.
   * @default 0
   */
  readonly restart?: number | undefined
  /** Hears its life: `restarted` after a loss, with why. */
  readonly onEvent?: ((event: ActorEvent) => void) | undefined
}

/** What an actor's `onEvent` hears. */
export interface ActorEvent {
  readonly type: 'restarted'
  /** The actor, as messages name it: `Counter#2`. */
  readonly actor: string
  readonly node: number
  /** The ActorLostError that said why the old instance was lost. */
  readonly cause: Error
  /** Restarts left after this one. */
  readonly restartsLeft: number
}

/** Options of one method call: `actor.with({ timeout }).method(...)`. */
export interface MethodOptions {
  /**
   * Deadline in ms from the moment the method starts. A running method can only be stopped with
   * its worker, so on thread, process and SSH nodes the actor is lost with it (the inline backend
   * cannot stop it: the call rejects and the method runs on).
   */
  readonly timeout?: number | undefined
  /** Cancels the call: a call not yet sent never runs; a running one is stopped as a timeout is. */
  readonly signal?: AbortSignal | undefined
}

/** Names the handle keeps for itself: a class's own members of these names are not reachable through it. */
export type ActorControlName = 'close' | 'with' | 'pending'

/** The methods and properties of a `T`, as promises, without the handle's own names. */
export type ActorMethods<T> = RemoteMembers<Omit<T, ActorControlName>>

/** Every member of `T` reached through the actor: a method gives a promise of its result; a property is a promise of its value, whose own members are reached the same way. */
export type RemoteMembers<T> = { readonly [K in keyof T]: RemoteMember<T[K]> }

type RemoteMember<V> = V extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : Promise<Awaited<V>> & (V extends object ? RemoteMembers<V> : unknown)

/**
 * The methods of a `T` as Pendings, for graphs, gathers and pipeline steps: each takes values or
 * Pendings of them, and runs (through the actor's mailbox, in call order) when the graph does.
 */
export type ActorPendings<T> = {
  readonly [K in keyof Omit<T, ActorControlName> as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: DeferrableArgs<A>) => Pending<Awaited<R>>
    : never
}

/**
 * A stateful object on a node: `await counter.add(5)`. `close()` (or `await using`) disposes of
 * it there, calling its `Symbol.asyncDispose` if it has one.
 */
export type Actor<T> = ActorMethods<T> & {
  /** The same actor, with options for the next call: `actor.with({ timeout: 1000 }).train()`. */
  with(options: MethodOptions): ActorMethods<T>
  /** Its methods as Pendings: `compute.run(gather(model.pending.score(row), t.load(path)))`. */
  readonly pending: ActorPendings<T>
  /** Waits for its calls, then disposes of it on its node. Safe to call twice. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * The arguments of `compute.actor()` after the class: the constructor's, then the options if
 * any, after the required arguments or any of the optional ones.
 */
export type ActorArgs<C extends abstract new (...args: never[]) => object, O> =
  | ConstructorParameters<C>
  | ThenOptions<ConstructorParameters<C>, O>

type ThenOptions<P extends readonly unknown[], O> = number extends P['length']
  ? [...P, O] // a rest parameter
  : P extends readonly []
    ? [O]
    : [] extends P
      ? [O] | (P extends readonly [(infer H)?, ...infer R] ? [H, ...ThenOptions<R, O>] : never)
      : P extends readonly [infer H, ...infer R]
        ? [H, ...ThenOptions<R, O>]
        : never
