/**
 * What runs a batch of calls on a node: the same code on a worker thread, inside a process or
 * SSH agent, and (for the inline backend) on the caller's thread. It never throws and never
 * returns something that cannot be cloned: every failure becomes an encoded error outcome.
 */
import { isMainThread } from 'node:worker_threads'
import { NotCloneableError, SpindleError } from '../errors.js'
import { isThenable } from '../thenable.js'
import { findNotCloneable } from '../protocol/cloneable.js'
import { encodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import { CALL_FIELDS, REQUEST_HEADER, RESPONSE_HEADER, type BatchRequest, type BatchResponse } from '../protocol/messages.js'
import { taskLabel } from '../task/pending.js'
import { claim, markRunning } from '../protocol/claims.js'
import { callOwners, setMembers, type CallOwner, type TaskContext } from './context.js'
import { writeCrash } from './crash-slot.js'
import { loadTask } from './task-loader.js'
import { runInTrace, tracingReady } from './trace-context.js'

type Fn = (...args: unknown[]) => unknown

/** The sequence number of the call whose code is running, if any (nested calls name their parent). */
export function currentCallSeq(): number | undefined {
  return callOwners.getStore()?.seq
}

/** Task id → [module, name, label], from the definitions requests carry. */
const definitions = new Map<number, readonly [string, string, string]>()
/** Task id → its function, once loaded. */
const functions = new Map<number, Fn>()

/**
 * Inline batches running on this thread. AsyncLocalStorage's first run() switches on a promise
 * hook for the whole thread (Node 20), and from then on every promise made by anyone pays about a
 * microsecond to carry the store along. In a worker those are the tasks' own promises; on the
 * caller's thread (the inline backend) they would be every promise of the dispatcher and the
 * pipeline too, a fifth of the cost of a no-op step. So once no inline batch runs, the storage is
 * switched off (its next run() switches it on again).
 */
let inlineBatches = 0

/** Runs a batch: on a worker, or (with `place`) on the caller's thread as the inline backend. */
export function runBatch(request: BatchRequest, place?: TaskContext): BatchResponse | Promise<BatchResponse> {
  defineTasks(request)
  if (place === undefined) return loadAndRun(request, undefined)
  inlineBatches++
  const done = () => {
    // In a worker thread (an inline pool inside a task) the storage tracks the worker's own calls too.
    if (--inlineBatches === 0 && isMainThread) callOwners.disable()
  }
  const response = loadAndRun(request, place) // never throws (see above)
  if (response instanceof Promise) void response.then(done)
  else done()
  return response
}

/**
 * Runs a batch a worker thread was sent, unless the caller took it back first (its claim word,
 * protocol/claims.ts): then nothing runs and nothing answers. The claim comes before
 * the batch's modules load: code they run at load time may kill the worker, and a batch whose
 * worker died after claiming it counts as started (interrupted, or blamed), so a module that
 * always kills its worker cannot send its calls round for ever.
 */
export function runClaimed(request: BatchRequest, claims: Int32Array, answer: (response: BatchResponse) => void): void {
  defineTasks(request)
  if (claim(claims, request[2], request[1])) loadAndRun(request, undefined, () => markRunning(claims, request[2]), answer)
}

/**
 * `answer`, when given, gets the response of calls that return at once as soon as they have: a
 * batch that waited for its modules is answered before the batch that waited with it begins (a
 * microtask later, its answer would follow that batch's run: were that one to exit the worker,
 * this one's finished calls would be lost with it, and run again).
 */
function loadAndRun(
  request: BatchRequest,
  place: TaskContext | undefined,
  begin?: () => void,
  answer?: (response: BatchResponse) => void,
): BatchResponse | Promise<BatchResponse> {
  const run = () => {
    begin?.()
    const response = runCalls(request, place)
    if (answer !== undefined) Array.isArray(response) ? answer(response) : void response.then(answer)
    return response
  }
  const missing = missingTasks(request)
  // The first traced batch waits for the OpenTelemetry API to be imported (or found missing).
  const tracing = request[3] === undefined ? undefined : tracingReady()
  if (missing.length === 0) {
    const preparing = anyPrepares ? prepared(request) : undefined
    if (preparing === undefined && tracing === undefined) return run()
    return Promise.all([preparing, tracing]).then(run)
  }
  return Promise.all([Promise.all(missing.map(load)).then(() => prepared(request)), tracing]).then(run)
}

/**
 * What some built-in tasks load before their calls begin, named by their arguments (a map
 * chunk's function): until then the batch has not begun, and a worker idle while it loads must
 * not begin the batch sent after it either (an async task's batch begins as soon as its worker's
 * event loop turns).
 */
const PREPARE = Symbol.for('spindle.prepare')
type Prepare = (...args: unknown[]) => Promise<unknown> | undefined
let anyPrepares = false

/** Marks `task` as loading what `prepare` returns (a promise that never rejects) before its calls begin. */
export function prepareBeforeBegin(task: object, prepare: Prepare): void {
  ;(task as { [PREPARE]?: Prepare })[PREPARE] = prepare
}

/** Settles once what the batch's calls load before they begin is there; undefined when nothing is missing. */
function prepared(request: BatchRequest): Promise<unknown> | undefined {
  let waits: Array<Promise<unknown>> | undefined
  for (let at = REQUEST_HEADER; at < request.length; at += CALL_FIELDS) {
    const prepare = (functions.get(request[at + 1] as number) as { [PREPARE]?: Prepare } | undefined)?.[PREPARE]
    const wait = prepare?.(...(request[at + 2] as unknown[]))
    if (wait !== undefined) (waits ??= []).push(wait)
  }
  return waits === undefined ? undefined : Promise.all(waits)
}

/** Definitions (and the node's new place in the pool) count even in a batch taken back: the caller has recorded them as sent. */
function defineTasks(request: BatchRequest): void {
  const members = request[4]
  if (members !== undefined) setMembers(...members)
  const defs = request[0]
  if (defs !== undefined) {
    for (const [id, module, name] of defs) definitions.set(id, [module, name, taskLabel({ module, name })])
  }
}

function runCalls(request: BatchRequest, place: TaskContext | undefined): BatchResponse | Promise<BatchResponse> {
  const started = performance.now()
  const n = (request.length - REQUEST_HEADER) / CALL_FIELDS
  const response = new Array(RESPONSE_HEADER + n) as BatchResponse
  response[2] = request[1]
  let errors: Array<[number, EncodedThrown]> | undefined
  const fail = (i: number, thrown: unknown): void => {
    ;(errors ??= []).push([i, encodeThrown(thrown)])
  }
  const store = (i: number, id: number, value: unknown): void => {
    const bad = isObject(value) && checked.has(value) ? undefined : findNotCloneable(value, 'result')
    if (bad === undefined) response[RESPONSE_HEADER + i] = value
    else fail(i, notCloneableResult(definitions.get(id)?.[2] ?? `task ${id}`, bad))
  }

  let waiting: Promise<void>[] | undefined
  const traces = request[3]
  for (let i = 0, at = REQUEST_HEADER; i < n; i++, at += CALL_FIELDS) {
    const id = request[at + 1] as number
    const fn = functions.get(id)
    if (fn === undefined) {
      fail(i, loadErrors.get(id) ?? unknownTask(id))
      continue
    }
    try {
      const traceparent = traces?.[i]
      const context: CallOwner = { seq: request[at] as number, task: definitions.get(id)![2], place, traceparent }
      const args = request[at + 2] as unknown[]
      const result = traceparent === undefined ? callOwners.run(context, fn, ...args) : callOwners.run(context, runInTrace, traceparent, fn, args)
      if (isThenable(result)) {
        ;(waiting ??= []).push(Promise.resolve(result).then((v) => store(i, id, v), (e: unknown) => fail(i, e)))
      } else {
        store(i, id, result)
      }
    } catch (thrown) {
      fail(i, thrown)
    }
  }
  const finish = (): BatchResponse => {
    response[0] = performance.now() - started
    errors?.sort((a, b) => a[0] - b[0]) // async failures arrive out of order; readers walk by index
    response[1] = errors
    return response
  }
  return waiting === undefined ? finish() : Promise.all(waiting).then(finish)
}

/** Why a task could not be loaded, per id; cleared when a later load succeeds. */
const loadErrors = new Map<number, unknown>()

function missingTasks(request: BatchRequest): number[] {
  let missing: number[] | undefined
  for (let at = REQUEST_HEADER + 1; at < request.length; at += CALL_FIELDS) {
    const id = request[at] as number
    if (!functions.has(id) && definitions.has(id) && !missing?.includes(id)) (missing ??= []).push(id)
  }
  return missing ?? []
}

async function load(id: number): Promise<void> {
  const [module, name] = definitions.get(id)!
  try {
    const fn = await loadTask(module, name)
    functions.set(id, fn)
    if (PREPARE in fn) anyPrepares = true
    loadErrors.delete(id)
  } catch (error) {
    loadErrors.set(id, error) // this batch's calls fail with it; the next batch tries again
  }
}

function unknownTask(id: number): SpindleError {
  return new SpindleError(
    'ERR_SPINDLE_PROTOCOL',
    `This worker was sent task id ${id} without its definition. This is a bug in spindle: please report it.`,
  )
}

/**
 * `response` once sending it has thrown: structured clone refused a value the quick check let
 * through (a function in an array's named property). Each result a thorough check faults becomes
 * its call's error; with none found, every call fails with what the send threw.
 */
export function unsendableResponse(request: BatchRequest, response: BatchResponse, thrown: unknown): BatchResponse {
  const errors = new Map(response[1] ?? [])
  const results = response.length - RESPONSE_HEADER
  const blame = (i: number, error: unknown) => {
    errors.set(i, encodeThrown(error))
    response[RESPONSE_HEADER + i] = undefined
  }
  let found = false
  for (let i = 0; i < results; i++) {
    const result = response[RESPONSE_HEADER + i]
    const repaired = isObject(result) ? repairs.get(result)?.() : undefined
    if (repaired !== undefined) {
      response[RESPONSE_HEADER + i] = repaired
      found = true
    }
    const bad = errors.has(i) ? undefined : findNotCloneable(response[RESPONSE_HEADER + i], 'result', true)
    if (bad === undefined) continue
    const id = request[REQUEST_HEADER + i * CALL_FIELDS + 1] as number
    blame(i, notCloneableResult(definitions.get(id)?.[2] ?? `task ${id}`, bad))
    found = true
  }
  if (!found) for (let i = 0; i < results; i++) if (!errors.has(i)) blame(i, thrown)
  response[1] = [...errors].sort((a, b) => a[0] - b[0])
  return response
}

function notCloneableResult(label: string, bad: { path: string; what: string }): NotCloneableError {
  return new NotCloneableError(
    `Task ${label} returned a value that cannot be sent back: ${bad.path} is ${bad.what}. ` +
      'Return plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date).',
    bad.path,
  )
}

/** Results whose every part a built-in task has already checked (map chunks check per item). */
const checked = new WeakSet<object>()

/**
 * Marks a result as checked for cloneability, so it is not walked a second time; `repair`, if
 * given, is its own answer to a send that failed anyway (a map chunk fails the items at fault),
 * or undefined when nothing in it is.
 */
export function alreadyChecked<T extends object>(result: T, repair?: () => T | undefined): T {
  checked.add(result)
  if (repair !== undefined) repairs.set(result, repair)
  return result
}

const repairs = new WeakMap<object, () => unknown>()

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/**
 * On a worker thread or in an agent process: an error no call caught, or a call to
 * `process.exit`, ends this thread (its state can no longer be trusted), but first writes which
 * call's code it came from, so the dispatcher blames that call and not the one running now.
 */
export function reportCrashesTo(slot: SharedArrayBuffer): void {
  const die = (thrown: unknown) => {
    writeCrash(slot, callOwners.getStore(), encodeThrown(thrown))
    process.exit(1)
  }
  process.on('uncaughtException', die)
  process.on('unhandledRejection', die)
  process.on('exit', () => writeCrash(slot, callOwners.getStore()))
}
