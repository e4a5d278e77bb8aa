/**
 * What the two sides of an actor agree on: the names of the actor host's tasks (the caller
 * names them by URL; a process or SSH agent recognises them to route a call to the thread its
 * actor lives on) and the shape of a method's failure inside comlink's reply. Nothing here runs
 * code, so the caller imports it without loading the host.
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
 * A method's failure, as comlink carries it: comlink's own encoding of a thrown Error keeps only
 * message, name and stack, so the host throws this plain object instead (which comlink passes
 * as it is) and the caller decodes it losslessly (class, code, cause, fields).
 */
export const FAULT = 'spindle.actorFault'
export type Fault = { readonly [FAULT]: EncodedThrown }

export function isFault(value: unknown): value is Fault {
  return typeof value === 'object' && value !== null && FAULT in value
}
