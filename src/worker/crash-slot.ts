/**
 * A few KiB of shared memory per node where a dying worker writes, synchronously, which call
 * it was running and what it threw. A message posted just before `process.exit` may never
 * arrive; a store into a SharedArrayBuffer always does. The dispatcher reads it to blame the
 * right call: the one that crashed, not the one that happened to run next.
 */
import { decodeThrown, type EncodedThrown } from '../protocol/error-codec.js'

const RING = 16
const RING_AT = 5
const HEADER = RING_AT + RING // [written, ownerSeq, byteLength, batchesBegun, up, ...ids of the batches begun]
const PAYLOAD_BYTES = 16 * 1024

export interface CrashReport {
  /** Sequence number of the call whose code was running (or whose timer fired); -1 if unknown. */
  owner: number
  /** That call's task label, when known. */
  task?: string
  /** What it threw, when the crash was an uncaught error rather than process.exit. */
  error?: EncodedThrown
}

/** Whose code a worker is running: set per call, inherited by its timers and promises. */
export interface Owner {
  readonly seq: number
  readonly task: string
}

export function createCrashSlot(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER * 4 + PAYLOAD_BYTES)
}

/** In the worker: record the crash. The first report wins (an exit after an uncaught error). */
export function writeCrash(buffer: SharedArrayBuffer, owner: Owner | undefined, error?: EncodedThrown): void {
  const header = new Int32Array(buffer, 0, HEADER)
  if (Atomics.load(header, 0) !== 0) return
  const bytes = new Uint8Array(buffer, HEADER * 4, PAYLOAD_BYTES)
  let json = JSON.stringify({ task: owner?.task, error })
  // Too long for the slot (a huge stack or field): keep the owner and a short error.
  if (json.length * 3 > PAYLOAD_BYTES) json = JSON.stringify({ task: owner?.task?.slice(0, 200), error: shorten(error) })
  const length = new TextEncoder().encodeInto(json, bytes).written
  Atomics.store(header, 1, owner?.seq ?? -1)
  Atomics.store(header, 2, length)
  Atomics.store(header, 0, 1)
}

/** On the main side: read the report, if any, and clear the slot for the replacement worker. */
export function takeCrash(buffer: SharedArrayBuffer): CrashReport | undefined {
  const header = new Int32Array(buffer, 0, HEADER)
  if (Atomics.load(header, 0) === 0) return undefined
  const owner = Atomics.load(header, 1)
  const length = Atomics.load(header, 2)
  const report: CrashReport = { owner }
  try {
    const bytes = new Uint8Array(buffer, HEADER * 4, length).slice()
    const payload = JSON.parse(new TextDecoder().decode(bytes)) as { task?: string; error?: EncodedThrown }
    if (payload.task !== undefined) report.task = payload.task
    if (payload.error !== undefined) report.error = payload.error
  } catch {
    // Truncated mid-character: the owner alone is still worth having.
  }
  Atomics.store(header, 0, 0)
  return report
}

/**
 * How far the current worker got, for blaming only what it ran: whether it took its port (`up`:
 * its modules loaded, within its resourceLimits) and which batches' calls it began (the ids of
 * the last RING it began: more than a node ever has in flight).
 */
export interface Progress {
  up: boolean
  began: (batchId: number) => boolean
}

/** On the main side, before a new worker is handed its port. */
export function resetProgress(buffer: SharedArrayBuffer): void {
  new Int32Array(buffer, 0, HEADER).fill(0, 3)
}

/** In the worker: it has taken its port. */
export function markUp(buffer: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(buffer, 0, HEADER), 4, 1)
}

/** In the worker, as a batch's calls begin (before any of its code runs): two stores. */
export function markBatchStarted(header: Int32Array, batchId: number): void {
  const n = Atomics.add(header, 3, 1)
  Atomics.store(header, RING_AT + (n % RING), batchId)
}

/** The header `markBatchStarted` takes (made once per worker). */
export function progressHeader(buffer: SharedArrayBuffer): Int32Array {
  return new Int32Array(buffer, 0, HEADER)
}

export function readProgress(buffer: SharedArrayBuffer): Progress {
  const header = new Int32Array(buffer, 0, HEADER)
  const ring = Array.from({ length: RING }, (_, i) => Atomics.load(header, RING_AT + i))
  return { up: Atomics.load(header, 4) === 1, began: (batchId) => ring.includes(batchId) }
}

function shorten(error: EncodedThrown | undefined): unknown {
  if (error === undefined || error === null || typeof error !== 'object') return error
  const { stack: _stack, props: _props, ...rest } = error as unknown as Record<string, unknown>
  return JSON.stringify(rest).length < 8000 ? rest : { t: 'value', v: '[error too large to report]' }
}

/**
 * A call that had already finished left code behind (a timer, a promise) that killed its worker.
 * Nobody waiting can be blamed, so the user hears of it as a process warning naming the task.
 */
export function warnStrayCrash(where: string, crash: CrashReport, interrupted: boolean): void {
  const thrown = crash.error === undefined ? 'called process.exit()' : `threw ${describe(decodeThrown(crash.error))}`
  process.emitWarning(
    `Task ${crash.task ?? '(unknown)'} had already finished when code it left behind (a timer or promise) ` +
      `${thrown} on ${where}. The worker was replaced` +
      (interrupted ? ', and the calls running there will run again. ' : '. ') +
      'Clear timers and await promises before a task returns.',
    { code: 'SPINDLE_STRAY_ERROR' },
  )
}

function describe(thrown: unknown): string {
  return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : `the value ${String(thrown)}`
}
