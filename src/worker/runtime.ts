/**
 * What runs a batch of calls on a node: the same code on a worker thread, inside a process or
 * SSH agent, and (for the inline backend) on the caller's thread. It never throws and never
 * returns something that cannot be cloned: every failure becomes an encoded error outcome.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { NotCloneableError } from '../errors.js'
import { findNotCloneable } from '../protocol/cloneable.js'
import { encodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import type { BatchRequest, BatchResponse } from '../protocol/messages.js'
import { taskLabel } from '../task/pending.js'
import { writeCrash, type Owner } from './crash-slot.js'
import { cachedTask, loadTask } from './task-loader.js'

type Fn = (...args: unknown[]) => unknown

/** Which call's code is running: timers and promises a call starts inherit its sequence number. */
const owner = new AsyncLocalStorage<Owner>()

export async function runBatch(req: BatchRequest): Promise<BatchResponse> {
  const started = performance.now()
  const n = req.seq.length
  const values: unknown[] = new Array(n)
  let errors: Array<[number, EncodedThrown]> | undefined
  const fail = (i: number, thrown: unknown): void => {
    ;(errors ??= []).push([i, encodeThrown(thrown)])
  }

  const resolved = resolveAll(req)
  const fns = Array.isArray(resolved) ? resolved : await resolved
  const labels: string[] = []
  const waiting: Promise<void>[] = []
  for (let i = 0; i < n; i++) {
    const f = req.fn[i]!
    const fn = fns[f]
    if (typeof fn !== 'function') {
      fail(i, fn)
      continue
    }
    const label = labels[f] ??= taskLabel({ module: req.fns[f]![0], name: req.fns[f]![1] })
    const store = (value: unknown) => {
      const bad = findNotCloneable(value, 'result')
      if (bad === undefined) values[i] = value
      else fail(i, notCloneableResult(label, bad))
    }
    try {
      const result = owner.run({ seq: req.seq[i]!, task: label }, fn as Fn, ...req.args[i]!)
      if (isThenable(result)) waiting.push(Promise.resolve(result).then(store, (e: unknown) => fail(i, e)))
      else store(result)
    } catch (thrown) {
      fail(i, thrown)
    }
  }
  if (waiting.length > 0) await Promise.all(waiting)
  const ms = performance.now() - started
  if (errors === undefined) return { values, ms }
  errors.sort((a, b) => a[0] - b[0]) // async failures arrive out of order; readers walk by index
  return { values, errors, ms }
}

/**
 * The function for each task of the batch, or the error that loading it raised. Synchronous
 * when every task was loaded before: the common case should not pay for an extra await.
 */
function resolveAll(req: BatchRequest): Array<Fn | unknown> | Promise<Array<Fn | unknown>> {
  const out: Array<Fn | unknown> = new Array(req.fns.length)
  let missing = false
  for (let f = 0; f < req.fns.length; f++) {
    const [module, name] = req.fns[f]!
    out[f] = cachedTask(module, name)
    if (out[f] === undefined) missing = true
  }
  if (!missing) return out
  return Promise.all(
    req.fns.map(async ([module, name], f) => {
      if (out[f] === undefined) out[f] = await loadTask(module, name).catch((e: unknown) => e)
    }),
  ).then(() => out)
}

function notCloneableResult(label: string, bad: { path: string; what: string }): NotCloneableError {
  return new NotCloneableError(
    `Task ${label} returned a value that cannot be sent back: ${bad.path} is ${bad.what}. ` +
      'Return plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date).',
    bad.path,
  )
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * On a worker thread or in an agent process: an error no call caught, or a call to
 * `process.exit`, ends this thread (its state can no longer be trusted), but first writes which
 * call's code it came from, so the dispatcher blames that call and not the one running now.
 */
export function reportCrashesTo(slot: SharedArrayBuffer): void {
  const die = (thrown: unknown) => {
    writeCrash(slot, owner.getStore(), encodeThrown(thrown))
    process.exit(1)
  }
  process.on('uncaughtException', die)
  process.on('unhandledRejection', die)
  process.on('exit', () => writeCrash(slot, owner.getStore()))
}
