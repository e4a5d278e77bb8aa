/**
 * Pendings inside arguments: a call's argument may hold Pendings at any depth of plain arrays
 * and objects (`t.sum([t.one(), t.two()])`, `t.f({ a: x, b: [y] })`), which run first and whose
 * values take their place (Dask's traversal of lists and dicts). Class instances, Maps, typed
 * arrays and the like are values: they are not looked into.
 *
 * Everything here is iterative, with explicit stacks, so neither a 100,000-long chain of calls
 * nor a deep argument can overflow the stack.
 */
import { types } from 'node:util'
import { SpindleError } from '../errors.js'
import { isPending, type Pending } from './pending.js'

/** Where a call's Pendings are: what to run first, and which containers to copy with their values. */
export interface ArgumentPlan {
  /** Each Pending in the arguments once, in the order found (top-level arguments first). */
  readonly pendings: readonly Pending<unknown>[]
  /** The plain arrays and objects that hold a Pending at some depth: only these are copied. */
  readonly containers: ReadonlySet<object> | 'all'
}

const NO_PENDINGS: ArgumentPlan = { pendings: [], containers: new Set() }

/** A plain array or object. Proxies are values (their traps may throw): the cloneability check names them. */
function isContainer(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || types.isProxy(value)) return false
  const proto = Object.getPrototypeOf(value)
  return Array.isArray(value) ? proto === Array.prototype : proto === Object.prototype || proto === null
}

function children(container: object): unknown[] {
  try {
    return Array.isArray(container) ? container : Object.values(container)
  } catch {
    return [] // a getter that throws: the cloneability check reports it, with its path
  }
}

/**
 * Finds the Pendings in `args`. Depth-first with a path of open containers: a Pending found
 * marks every container on the path as holding one. A shared container seen again passes its
 * mark on; one met again while still open (a cycle) makes every container a copy, which keeps
 * the cycle in the copies and costs only what it copies.
 */
export function planArguments(args: readonly unknown[]): ArgumentPlan {
  let found: Set<Pending<unknown>> | undefined
  let marked: Set<object> | undefined
  let seen: Set<object> | undefined
  let cyclic = false
  const path: Array<{ container: object; items: unknown[]; next: number }> = []
  const mark = () => {
    for (let i = path.length - 1; i >= 0 && !marked!.has(path[i]!.container); i--) marked!.add(path[i]!.container)
  }
  const look = (value: unknown) => {
    if (isPending(value)) {
      ;(found ??= new Set()).add(value)
      marked ??= new Set()
      mark()
    } else if (isContainer(value)) {
      seen ??= new Set()
      if (!seen.has(value)) {
        seen.add(value)
        path.push({ container: value, items: children(value), next: 0 })
      } else if (marked?.has(value)) {
        mark()
      } else if (path.some((open) => open.container === value)) {
        cyclic = true
      }
    }
  }
  for (const arg of args) {
    look(arg)
    while (path.length > 0) {
      const top = path[path.length - 1]!
      if (top.next === top.items.length) path.pop()
      else look(top.items[top.next++])
    }
  }
  if (found === undefined) return NO_PENDINGS
  return { pendings: [...found], containers: cyclic ? 'all' : (marked ?? new Set()) }
}

/** `args` with every Pending of `plan` replaced by its value; the containers that held one are copies. */
export function substitute(args: readonly unknown[], plan: ArgumentPlan, valueOf: (pending: Pending<unknown>) => unknown): unknown[] {
  if (plan.containers !== 'all' && plan.containers.size === 0) return args.map((arg) => (isPending(arg) ? valueOf(arg) : arg)) // every Pending at the top
  const copies = new Map<object, object>()
  const toFill: object[] = []
  const replace = (value: unknown): unknown => {
    if (isPending(value)) return valueOf(value)
    if (!isContainer(value) || (plan.containers !== 'all' && !plan.containers.has(value))) return value
    let copy = copies.get(value)
    if (copy === undefined) {
      copy = Array.isArray(value) ? new Array(value.length) : Object.create(Object.getPrototypeOf(value))
      copies.set(value, copy!)
      toFill.push(value)
    }
    return copy
  }
  const out = args.map(replace)
  while (toFill.length > 0) {
    const original = toFill.pop()!
    const copy = copies.get(original) as Record<string | number, unknown>
    if (Array.isArray(original)) for (let i = 0; i < original.length; i++) copy[i] = replace(original[i])
    else for (const key of Object.keys(original)) copy[key] = replace((original as Record<string, unknown>)[key])
  }
  return out
}

/**
 * What a Pending needs first, as a plan whose `pendings` are its dependencies: a call's Pendings
 * in its arguments, a gather's items (nothing to copy: they are the values), nothing for a step.
 */
function dependenciesOf(pending: Pending<unknown>): ArgumentPlan {
  if (pending.kind === 'gather') return { pendings: pending.args as Pending<unknown>[], containers: NO_PENDINGS.containers }
  return pending.kind === 'step' ? NO_PENDINGS : planArguments(pending.args)
}

/**
 * Visits every Pending reachable from `root` that `done` does not exclude, each after what it
 * depends on, each once (`visit` is where a caller marks it done). Throws for a Pending that
 * depends on itself (only possible through an argument array mutated after the call was made).
 */
export function visitInOrder(
  root: Pending<unknown>,
  done: (pending: Pending<unknown>) => boolean,
  visit: (pending: Pending<unknown>, plan: ArgumentPlan) => void,
): void {
  if (done(root)) return
  const first = dependenciesOf(root)
  if (first.pendings.length === 0) return visit(root, first) // a call of plain values: nothing to walk
  const open = new Set<Pending<unknown>>([root])
  const path = [{ pending: root, plan: first, next: 0 }]
  while (path.length > 0) {
    const top = path[path.length - 1]!
    if (top.next === top.plan.pendings.length) {
      path.pop()
      open.delete(top.pending)
      visit(top.pending, top.plan)
      continue
    }
    const dep = top.plan.pendings[top.next++]!
    if (done(dep)) continue
    const plan = dependenciesOf(dep)
    if (plan.pendings.length === 0) {
      visit(dep, plan) // a leaf (most of a wide gather): no frame
      continue
    }
    if (open.has(dep)) {
      throw new SpindleError(
        'ERR_SPINDLE_CYCLE',
        `${dep.label} depends on itself: an array or object passed to it was changed after the call was made to hold the call. Build arguments before the call.`,
      )
    }
    open.add(dep)
    path.push({ pending: dep, plan, next: 0 })
  }
}
