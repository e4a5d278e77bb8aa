/**
 * One chunk of a map as one call of the mapChunk task: the items that cannot be sent split
 * out beforehand (each fails alone, by index), the call's answer turned into an outcome, a
 * worker's exit under one item pinned on that item alone, and, off this process, the results
 * a long chunk sends ahead kept (a lost agent's chunk runs again only from where they end).
 */
import { findNotCloneable } from '../protocol/cloneable.js'
import { InterruptedError, NotCloneableError, WorkerExitError, type MapItemError } from '../errors.js'
import { decodeThrown } from '../protocol/error-codec.js'
import { argumentPath } from '../protocol/value-path.js'
import type { CallOptions, CallSink } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'
import type { ChunkItems, ChunkResult } from './worker/map-chunk.js'
import { createRescue, readRescue, rescueReported, type Rescue } from '../worker/chunk-exits.js'
import type { FnSpec } from './fn-spec.js'
import { chunkFailed, itemError, type ChunkOutcome, type SharedArrays } from './outcome.js'
import { SentAhead } from './sent-ahead.js'

const CHUNK_TASK: TaskRef = { module: new URL('./worker/map-chunk.js', import.meta.url).href, name: 'mapChunk' }
/** The task module's file name: a chunk submitted on another host names the module by its path there. */
const CHUNK_FILE = CHUNK_TASK.module.slice(CHUNK_TASK.module.lastIndexOf('/'))
/** Where the chunk and its first item's index sit among the arguments of mapChunk(spec, chunk, start, context, stopOnError). */
const CHUNK_ARG = 1
const START_ARG = 2
/** Where a chunk's items sit among a mapChunk call's arguments, as a path names them. */
const CHUNK_ITEMS_PATH = `${argumentPath(CHUNK_ARG)}.items`

/** The items [start, end) a call covers when it is a chunk of a map (run recorders show it); undefined for any other call. */
export function chunkRange(task: TaskRef, args: readonly unknown[]): readonly [number, number] | undefined {
  if (task.name !== CHUNK_TASK.name || !task.module.endsWith(CHUNK_FILE)) return undefined
  const chunk = args[CHUNK_ARG] as ChunkItems | undefined
  const start = args[START_ARG]
  if (typeof start !== 'number' || chunk === undefined) return undefined
  return [start, chunk.kind === 'array' ? start + chunk.items.length : chunk.end]
}

export interface Part {
  readonly start: number
  readonly items: ArrayLike<unknown>
  /** Set for an item that cannot be sent: its failure, already decided. */
  readonly outcome?: Promise<ChunkOutcome>
  /** A part of a chunk that clone refused: split once, never again. */
  readonly split?: boolean
}

export interface ChunkCall {
  readonly signal: AbortSignal
  readonly costKey: number
  /** Per item, in ms: a chunk of n items gets n × timeout from its start. */
  readonly timeout: number | undefined
  readonly context: Record<string, unknown> | undefined
  readonly stopOnError: boolean
}

/**
 * Splits a chunk around items that cannot be sent to a worker; those fail alone, by index.
 * `thorough`: after clone refused a chunk the quick check passed (see findNotCloneable).
 */
export function sendable(items: ArrayLike<unknown>, start: number, shared: SharedArrays | undefined, thorough = false): Part[] {
  if (shared !== undefined || findNotCloneable(items, 'items', thorough) === undefined) return [{ start, items }]
  const parts: Part[] = []
  let run: unknown[] = []
  let runStart = start
  Array.prototype.forEach.call(items, (item: unknown, i: number) => {
    const bad = findNotCloneable(item, `item ${start + i}`, thorough)
    if (bad === undefined) {
      if (run.length === 0) runStart = start + i
      run.push(item)
      return
    }
    if (run.length > 0) parts.push({ start: runStart, items: run })
    run = []
    const error = new NotCloneableError(
      `parallelMap item ${start + i} cannot be sent to a worker: ${bad.path} is ${bad.what}. Pass plain data, ` +
        'or build the object inside the function.',
      bad.path,
    )
    const outcome: ChunkOutcome = { start: start + i, count: 1, values: undefined, errors: [[0, itemError(start + i, error)]] }
    parts.push({ start: start + i, items: [item], outcome: Promise.resolve(outcome) })
  })
  if (run.length > 0) parts.push({ start: runStart, items: run })
  return parts
}

export async function runChunk(compute: CallSink, spec: FnSpec, part: Part, shared: SharedArrays | undefined, call: ChunkCall): Promise<ChunkOutcome> {
  const { signal, costKey } = call
  const { start, items } = part
  shared?.stage(start, start + items.length) // copied just before it is needed: overlaps with running chunks
  // An exit under an item says which one (chunk-exits.ts): in a buffer of ours where the worker
  // shares our memory; off this process, in one the node agent gives the chunk, which reports it.
  const rescue = compute.sharedMemory ? createRescue() : compute.partialResults ? true : undefined
  const chunk: ChunkItems =
    shared === undefined
      ? { kind: 'array', items: items as unknown[], ...(rescue && { rescue }) }
      : { kind: 'shared', input: shared.input, output: shared.output, end: start + items.length, ...(rescue && { rescue }) }
  const timeout = call.timeout === undefined ? undefined : call.timeout * items.length
  // Off this process, a long chunk sends its finished items' results ahead (sent-ahead.ts).
  const ahead = compute.partialResults && chunk.kind === 'array' ? new SentAhead(chunk, start, items.length) : undefined
  try {
    const options = { signal, costKey, timeout, ...(ahead && { onPartial: ahead.add }) }
    const result = await submitChunk(compute, [spec, chunk, start, call.context, call.stopOnError], options, ahead)
    const count = result.stoppedAt === undefined ? items.length : result.stoppedAt + 1
    if (ahead !== undefined && (ahead.from > 0 || result.from !== undefined)) return ahead.answered(result, count)
    const errors = result.errors?.map(([i, e]): [number, MapItemError] => [i, itemError(start + i, decodeThrown(e))])
    return { start, count, values: result.values, errors, ms: result.ms, async: result.async }
  } catch (thrown) {
    if (signal.aborted) throw signal.reason
    // An exit under an item: what the worker left, read here or reported by its node agent.
    const saved = !(thrown instanceof WorkerExitError) ? undefined : rescue === true ? rescueReported(thrown) : rescue && readRescue(rescue)
    const pinned = saved !== undefined && saved.at >= (ahead?.from ?? 0) && saved.at < items.length
    if (pinned) return rescued(compute, spec, part, shared, call, saved, thrown, ahead)
    if (ahead !== undefined && ahead.from > 0) return ahead.failed(thrown)
    // Clone refused an item the quick check passed (the dispatcher found it, `args[1].items[k]…`):
    // the chunk runs again split around it, so only that item fails, by its index.
    if (thrown instanceof NotCloneableError && thrown.path.startsWith(CHUNK_ITEMS_PATH) && part.split !== true) {
      const parts = sendable(items, start, shared, true).map((p) => p.outcome ?? runChunk(compute, spec, { ...p, split: true }, shared, call))
      return joined(start, items.length, await Promise.all(parts))
    }
    return chunkFailed(start, items.length, thrown)
  }
}

/**
 * The chunk's call. One whose items moved on while it ran (results sent ahead) and that was then
 * interrupted too often goes again as a new call for the rest, with retries of its own: each of
 * its attempts ran items of its own, so only a chunk that gets nowhere runs out of retries.
 */
async function submitChunk(compute: CallSink, args: unknown[], options: CallOptions, ahead: SentAhead | undefined): Promise<ChunkResult> {
  for (;;) {
    const from = ahead?.from
    try {
      return (await compute.submit(CHUNK_TASK, args, options)) as ChunkResult
    } catch (thrown) {
      if (!(thrown instanceof InterruptedError) || ahead === undefined || ahead.from === from || options.signal?.aborted === true) throw thrown
    }
  }
}

/**
 * A chunk whose worker exited under item `saved.at`: the items before it keep the results sent
 * ahead and those the worker left (or run again if those did not fit), that item fails alone,
 * and the items after it run again (unless the map stops at this failure anyway).
 */
async function rescued(
  compute: CallSink,
  spec: FnSpec,
  part: Part,
  shared: SharedArrays | undefined,
  call: ChunkCall,
  saved: Rescue,
  thrown: unknown,
  ahead: SentAhead | undefined,
): Promise<ChunkOutcome> {
  const { start, items } = part
  const { at } = saved
  const kept = ahead?.from ?? 0 // items whose results came ahead: the worker's attempt began at or before it
  const slice = (from: number, to?: number) => Array.prototype.slice.call(items, from, to) as unknown[]
  const parts: Array<ChunkOutcome | Promise<ChunkOutcome>> = []
  if (kept > 0) parts.push(ahead!.answered({}, kept))
  if (at > kept && !saved.lost) {
    const errors = saved.errors?.flatMap(([i, e]): Array<[number, MapItemError]> => (i >= kept ? [[i - kept, itemError(start + i, decodeThrown(e))]] : []))
    parts.push({ start: start + kept, count: at - kept, values: saved.values?.slice(kept, at), errors: errors?.length ? errors : undefined })
  } else if (at > kept && !call.stopOnError) parts.push(runChunk(compute, spec, { start: start + kept, items: slice(kept, at) }, shared, call))
  parts.push({ start: start + at, count: 1, values: undefined, errors: [[0, itemError(start + at, thrown)]] })
  if (!call.stopOnError && at + 1 < items.length) parts.push(runChunk(compute, spec, { start: start + at + 1, items: slice(at + 1) }, shared, call))
  return joined(start, call.stopOnError ? at + 1 : items.length, await Promise.all(parts))
}

/** The outcomes of a chunk's parts as the chunk's own (results by offset, errors by offset). */
function joined(start: number, count: number, parts: readonly ChunkOutcome[]): ChunkOutcome {
  const values: unknown[] = new Array(count)
  const errors: Array<[number, MapItemError]> = []
  for (const part of parts) {
    const offset = part.start - start
    part.values?.forEach((value, i) => (values[offset + i] = value))
    for (const [i, error] of part.errors ?? []) errors.push([offset + i, error])
  }
  return { start, count, values, errors: errors.length > 0 ? errors.sort((a, b) => a[0] - b[0]) : undefined }
}
