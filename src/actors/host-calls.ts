/**
 * The actor host's tasks as the caller calls them (worker/actor-host.ts), and what the caller
 * makes of their failures: which errors mean the actor's state is gone, in the words of an
 * ActorLostError or a timeout's TimeoutError; and the check of a call's arguments, with paths.
 */
import { ActorLostError, NotCloneableError, TimeoutError } from '../errors.js'
import { findNotCloneable } from '../protocol/cloneable.js'
import type { CallOptions, CallSink } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'
import { CALL_ACTOR, CLOSE_ACTOR, CREATE_ACTOR, type ActorPlace } from '../worker/actor-wire.js'

const HOST = new URL('../worker/actor-host.js', import.meta.url).href
const CREATE: TaskRef = Object.freeze({ module: HOST, name: CREATE_ACTOR })
export const CALL: TaskRef = Object.freeze({ module: HOST, name: CALL_ACTOR })
export const CLOSE: TaskRef = Object.freeze({ module: HOST, name: CLOSE_ACTOR })

/** One call as it travels: comlink's message type (GET, SET, APPLY), its path, its argument values. */
export type Wire = readonly [type: string, path: readonly string[], args: readonly unknown[]]

/** Codes of the pool's errors that mean the actor's thread is gone, and its state with it. */
const LOSSES = new Set(['ERR_SPINDLE_ACTOR_LOST', 'ERR_SPINDLE_WORKER_EXIT', 'ERR_SPINDLE_INTERRUPTED', 'ERR_SPINDLE_TIMEOUT'])

/** Whether a pool call's error means the actor's thread is gone. */
export function isLoss(error: unknown): boolean {
  return LOSSES.has(codeOf(error))
}

/** Constructs the class on `node` (or where the pool puts it); gives where it lives. */
export async function place(setup: { pool: CallSink; task: TaskRef; args: readonly unknown[]; concurrency: number }, node: number | undefined): Promise<ActorPlace> {
  const options: CallOptions = { node, solo: true, label: `new ${setup.task.name}` }
  return (await setup.pool.submit(CREATE, [setup.task.module, setup.task.name, setup.args, setup.concurrency], options)) as ActorPlace
}

/**
 * What the calls of a failed pool call reject with, and, when the actor's state is gone, the
 * ActorLostError that its queued and later calls get. A timed-out call gets its TimeoutError,
 * saying whether the actor was stopped with its worker (on inline it cannot be).
 */
export function classify(error: unknown, method: string, actor: string, node: number, stopsOnTimeout: boolean): { error: unknown; lost?: ActorLostError } {
  const timeout = (error as { timeout?: number }).timeout ?? 0
  const timedOut = codeOf(error) === 'ERR_SPINDLE_TIMEOUT'
  if (timedOut && !stopsOnTimeout) {
    const kept = `Method ${method} ran past its timeout of ${timeout} ms. The inline backend cannot stop it: it runs on (the actor's later calls wait for it), and the actor is kept.`
    return { error: new TimeoutError(kept, timeout) }
  }
  if (!isLoss(error)) return { error }
  const cause = timedOut
    ? new TimeoutError(
        `Method ${method} ran past its timeout of ${timeout} ms on node ${node} and was stopped with its worker, ` +
          'the only way to stop a running method: the actor is lost, and its later calls fail with ActorLostError.',
        timeout,
      )
    : error
  const lost = new ActorLostError(
    `Actor ${actor} on node ${node} was lost: ${(cause as Error).message} ` +
      'Its state is gone, and its calls are not run again. Create it again, or pass `restart` to compute.actor().',
    actor,
    node,
    { cause },
  )
  return { error: timedOut ? cause : lost, lost }
}

/** Arguments (or a set value) that cannot travel to the node, named by their path. */
export function badArgument(what: string, [type, , values]: Wire): NotCloneableError | undefined {
  for (let i = 0; i < values.length; i++) {
    const path = type === 'SET' ? 'value' : `arguments[${i}]`
    const bad = findNotCloneable(values[i], path)
    if (bad !== undefined) {
      return new NotCloneableError(
        `${what} cannot be sent to its actor: ${bad.path} is ${bad.what}. Pass plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date).`,
        bad.path,
      )
    }
  }
  return undefined
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}
