/**
 * Tasks that run on the caller's side, not as pool calls: an actor's method (`actor.pending.add(1)`)
 * is a Pending like any call, so it can sit in a gather, a graph or a pipeline step; when its
 * arguments are values, the Evaluation hands them to the task's own runner (the actor's mailbox,
 * which sends the pool call to its node) instead of the dispatcher.
 */
import type { CallOptions } from './call-sink.js'
import type { TaskRef } from './pending.js'

const LOCAL: unique symbol = Symbol('spindle.localTask')

/** Runs the call with its arguments resolved, and the options of its run (deadline, signal, dispatch hook, span). */
export type LocalRunner = (args: readonly unknown[], options: CallOptions) => Promise<unknown>

/** A frozen TaskRef whose calls `run` runs. */
export function localTask(module: string, name: string, run: LocalRunner): TaskRef {
  return Object.freeze({ module, name, [LOCAL]: run })
}

/** The runner of a local task; undefined for a task of a module (one property read on the call path). */
export function localRunner(task: TaskRef): LocalRunner | undefined {
  return (task as { [LOCAL]?: LocalRunner })[LOCAL]
}
