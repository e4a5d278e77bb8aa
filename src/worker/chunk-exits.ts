/**
 * What a map chunk leaves behind when its worker exits under it (a `process.exit()` in an
 * item): which item was running and the results (and failures) of those before it, written by the
 * worker's `exit` hook into shared memory (a message posted then may never arrive; a store into a
 * SharedArrayBuffer always does, as for the crash slot). The caller then keeps those results,
 * fails the running item alone and runs the rest again. Nothing is written while chunks succeed:
 * a chunk pays one store per item.
 *
 * On a thread pool the caller owns the buffer. Processes and SSH hosts share no memory with the
 * caller, but their node agent runs the chunk on a thread of its own: there the caller asks for a
 * rescue (`rescue: true`), the agent gives the chunk a buffer, reads it when its thread exits
 * under the chunk and sends what it found with the batch's failure (backends/process/
 * agent-rescue.ts); the caller finds it with the call's WorkerExitError (rescueReported).
 * In the worker layer (not the map's), since the agent uses it too.
 */
import { deserialize, serialize } from 'node:v8'
import type { EncodedThrown } from '../protocol/error-codec.js'
import type { Rescue } from '../protocol/messages.js'

const HEADER = 3 // [written, offset of the running item, byteLength of [results, errors], or -1 if they did not fit]
const PAYLOAD_BYTES = 16 * 1024

export type { Rescue }

/** A chunk's running state on the worker: what the exit hook writes from. */
interface Running {
  readonly buffer: SharedArrayBuffer
  readonly values: unknown[] | undefined
  readonly errors: () => Array<[number, EncodedThrown]> | undefined
  at: number
}

export function createRescue(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER * 4 + PAYLOAD_BYTES)
}

let running: Running | undefined
let hooked = false

/**
 * On the worker: a chunk's synchronous run begins (`values` receives its results; undefined for
 * a typed array's, already in shared memory; `errors` gives its failures so far, by offset).
 * Returns the state whose `at` the loop keeps current.
 */
export function beginRescue(buffer: SharedArrayBuffer, values: unknown[] | undefined, errors: Running['errors']): Running {
  if (!hooked) {
    hooked = true
    process.on('exit', () => {
      if (running !== undefined) write(running)
    })
  }
  Atomics.store(new Int32Array(buffer, 0, HEADER), 0, 0) // an earlier attempt's report is not this one's
  running = { buffer, values, errors, at: 0 }
  return running
}

/** The chunk's synchronous run has ended: an exit from now on (a promise, a timer) is not one item's. */
export function endRescue(): void {
  running = undefined
}

function write(state: Running): void {
  const header = new Int32Array(state.buffer, 0, HEADER)
  let length: number
  try {
    const errors = state.errors()?.filter(([i]) => i < state.at)
    const bytes = serialize([state.values?.slice(0, state.at), errors?.length ? errors : undefined])
    length = bytes.length <= PAYLOAD_BYTES ? bytes.length : -1
    if (length > 0) new Uint8Array(state.buffer, HEADER * 4, length).set(bytes)
  } catch {
    length = -1
  }
  Atomics.store(header, 1, state.at)
  Atomics.store(header, 2, length)
  Atomics.store(header, 0, 1)
}

/** After the chunk failed for its worker's exit (on the caller, or on the agent): what the worker left, if anything. */
export function readRescue(buffer: SharedArrayBuffer): Rescue | undefined {
  const header = new Int32Array(buffer, 0, HEADER)
  if (Atomics.load(header, 0) !== 1) return undefined
  const at = Atomics.load(header, 1)
  const length = Atomics.load(header, 2)
  if (length <= 0) return { at, values: undefined, errors: undefined, lost: true }
  const [values, errors] = deserialize(new Uint8Array(buffer, HEADER * 4, length).slice()) as [Rescue['values'], Rescue['errors']]
  return { at, values, errors, lost: false }
}

/** Rescues an agent reported, by the WorkerExitError of the chunk's call (set by the dispatcher). */
const reported = new WeakMap<object, Rescue>()

/** The dispatcher: `error`, the call's WorkerExitError, comes with the rescue its agent reported. */
export function reportRescue(error: object, rescue: Rescue): void {
  reported.set(error, rescue)
}

/** On the caller, after a chunk's call failed with `error`: the rescue its agent reported, if any. */
export function rescueReported(error: unknown): Rescue | undefined {
  return typeof error === 'object' && error !== null ? reported.get(error) : undefined
}
