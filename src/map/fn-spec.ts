/**
 * How parallelMap names the function to apply, on the wire and on the calling thread: an
 * exported function of a task module, or a self-contained function shipped by its source.
 */
import { InvalidOptionError } from '../errors.js'
import { taskOf } from '../task/remote.js'
import { compileInline, inlineSource, type InlineSource } from './inline-function.js'
import { loadedTask, loadTask } from '../worker/task-loader.js'

export type FnSpec =
  | { readonly kind: 'task'; readonly module: string; readonly name: string }
  | ({ readonly kind: 'inline' } & InlineSource)

export type ItemFn = (item: unknown, index: number) => unknown

/** The spec for `fn`: a remote function (from `remote()`) or a self-contained function. */
export function fnSpec(fn: unknown, context: Record<string, unknown> | undefined): FnSpec {
  const task = taskOf(fn)
  if (task !== undefined) return { kind: 'task', module: task.module, name: task.name }
  if (typeof fn !== 'function') {
    throw new InvalidOptionError(
      `parallelMap() needs a function to apply: a remote function (t.fn) or a self-contained function, got ${typeof fn}.`,
    )
  }
  return { kind: 'inline', ...inlineSource(fn, context === undefined ? [] : Object.keys(context)) }
}

/** The function itself, on whatever thread asks: loaded from its module, or rebuilt from source. */
export async function resolveFn(spec: FnSpec, context: Record<string, unknown> | undefined): Promise<ItemFn> {
  if (spec.kind === 'inline') return compileInline(spec, context) as ItemFn
  return (await loadTask(spec.module, spec.name)) as ItemFn
}

/** The function at once, where that needs no loading (a self-contained one, or a task this thread has loaded). */
export function loadedFn(spec: FnSpec, context: Record<string, unknown> | undefined): ItemFn | undefined {
  if (spec.kind === 'inline') return compileInline(spec, context) as ItemFn
  return loadedTask(spec.module, spec.name) as ItemFn | undefined
}

