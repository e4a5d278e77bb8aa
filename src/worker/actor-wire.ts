/**
 * What the two sides of an actor agree on: the names of the actor host's tasks (the caller
 * names them by URL; a process or SSH agent recognises them to route a call to the thread its
 * actor lives on), where an actor lives, and the answer of a pool call of its methods. Nothing
 * here runs code, so the caller imports it without loading the host.
 */
import type { EncodedThrown } from '../protocol/error-codec.js'

/** The module that hosts actors on a node, and its tasks. */
export const ACTOR_HOST_FILE = 'actor-host.js'
export const CREATE_ACTOR = 'createActor'
export const CALL_ACTOR = 'callActor'
export const CLOSE_ACTOR = 'closeActor'

/** Where an actor lives: its node, its id in its thread's table, and that thread. */
export interface ActorPlace {
  readonly id: number
  readonly node: number
  /** The worker thread within the node (`instanceInfo().worker`): calls must reach this one. */
  readonly worker: number
}

/**
 * Whether `module` and `name` are an actor host task that must run on the thread named by its
 * second argument (a method call, a close). The create call runs on any thread.
 */
export function isPinnedActorTask(module: string, name: string): boolean {
  return (name === CALL_ACTOR || name === CLOSE_ACTOR) && module.endsWith(`/worker/${ACTOR_HOST_FILE}`)
}

/**
 * A pool call's answer: per call (in the order sent) its value, and the failed ones as
 * `[index, encoded thrown value]` in index order (or undefined), as a batch's response has them.
 * What a method threw crosses as any task's error does: class, code, cause and fields intact.
 */
export type ActorAnswer = [values: unknown[], errors: Array<[number, EncodedThrown]> | undefined]
