import { pathToFileURL } from 'node:url'
import { InvalidOptionError } from '../errors.js'
import { Pending, type TaskRef } from './pending.js'

/** Values that are passed as they are: the evaluation does not look inside them for Pendings. */
type Opaque = string | number | boolean | bigint | symbol | null | undefined | ((...args: never[]) => unknown)
  | ArrayBufferLike | ArrayBufferView | Date | RegExp | Error | Map<unknown, unknown> | Set<unknown> | Promise<unknown>

/**
 * A value of type T, a Pending of it, or, for plain arrays and objects, the same shape with
 * any part a Pending (or holding one) of that part's type: the Pendings run first.
 */
export type DeepDeferrable<T> =
  | T
  | Pending<T>
  | (T extends Opaque ? never : T extends object ? { [K in keyof T]: DeepDeferrable<T[K]> } : never)

/** Each parameter also accepts a Pending of its type, and Pendings nested in arrays and objects. */
export type DeferrableArgs<A extends readonly unknown[]> = { [K in keyof A]: DeepDeferrable<A[K]> }

/** A remote function: same parameters (each may be a Pending), returns a Pending of the result. */
export type RemoteFunction<F> = F extends (...args: infer A) => infer R
  ? ((...args: DeferrableArgs<A>) => Pending<Awaited<R>>) & { readonly [TASK]: TaskRef }
  : never

declare const classType: unique symbol

/** An exported class, for `compute.actor(t.Class, ...args)`: it names the class and carries its type; it cannot be called. */
export interface RemoteClass<C> {
  readonly [TASK]: TaskRef
  /** Phantom: the class. Never set at run time. */
  readonly [classType]?: C
}

/** The functions a module exports, as remote functions, and its classes, as remote classes. Other exports are left out. */
export type RemoteModule<M> = {
  readonly [K in keyof M as M[K] extends (...args: never[]) => unknown ? K : M[K] extends abstract new (...args: never[]) => unknown ? K : never]:
    M[K] extends (...args: never[]) => unknown ? RemoteFunction<M[K]> : RemoteClass<M[K]>
}

/** Where a remote function keeps which task it calls (used by parallelMap and pipelines). */
export const TASK: unique symbol = Symbol.for('spindle.task') as never

/**
 * Typed deferred calls to the exported functions of an ordinary module:
 * `const t = remote<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url))`.
 * The module is loaded by the worker that runs a call, not here.
 */
export function remote<M>(module: URL | string): RemoteModule<M> {
  const url = toModuleUrl(module)
  const cache = new Map<string, unknown>()
  return new Proxy(Object.create(null) as RemoteModule<M>, {
    get(_target, name) {
      if (typeof name !== 'string' || name === 'then') return undefined // not a thenable
      let fn = cache.get(name)
      if (fn === undefined) {
        const task: TaskRef = Object.freeze({ module: url, name })
        fn = Object.assign((...args: unknown[]) => Pending.call(task, args), { [TASK]: task })
        Object.defineProperty(fn, 'name', { value: name })
        cache.set(name, fn)
      }
      return fn
    },
  })
}

/** The task behind a remote function, or undefined for any other value. */
export function taskOf(fn: unknown): TaskRef | undefined {
  return typeof fn === 'function' ? (fn as { [TASK]?: TaskRef })[TASK] : undefined
}

function toModuleUrl(module: URL | string): string {
  if (module instanceof URL) return module.href
  if (typeof module === 'string' && module.length > 0) {
    if (/^(file|data):/.test(module)) return new URL(module).href
    if (module.startsWith('/')) return pathToFileURL(module).href
  }
  throw new InvalidOptionError(
    `remote() needs the task module as a URL or an absolute path, got ${JSON.stringify(module)}. ` +
      "Write remote(new URL('./tasks.js', import.meta.url)).",
  )
}
