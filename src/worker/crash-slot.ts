/**
 * A few KiB of shared memory per node where a dying worker writes, synchronously, which call
 * it was running and what it threw. A message posted just before `process.exit` may never
 * arrive; a store into a SharedArrayBuffer always does. The dispatcher reads it to blame the
 * right call: the one that crashed, not the one that happened to run next.
 */
import { decodeThrown, type EncodedThrown } from '../protocol/error-codec.js'
import type { CrashReport } from '../protocol/messages.js'

const HEADER = 3 // [written, ownerSeq, byteLength]
const PAYLOAD_BYTES = 16 * 1024

// It travels (a process agent reports it in a BatchFailed): the protocol defines it.
export type { CrashReport }

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
