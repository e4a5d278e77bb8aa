/**
 * Shared memory for typed-array maps. Workers read the input from a SharedArrayBuffer and write
 * their results into a fresh one of the same kind, which is what the caller gets back.
 *
 * Fresh memory costs a page fault per 4 KiB on first touch (8 MB: ~3 ms on a VM, more than
 * mapping a cheap function over it). The input, unless already shared, is copied range by range
 * into a buffer borrowed from a small warm pool, as chunks are sent (the copy overlaps with the
 * workers' work), and goes back to the pool afterwards. The output must be fresh (it is the
 * caller's), so its faults are paid by the workers as they write, in parallel, rather than by
 * this thread copying results into fresh memory of its own (measured: 1.1–1.8× slower); on a
 * thread pool, an idle worker prepares the next output of the same size (`prepareSpare`).
 */
import type { SharedArrays, TypedArray } from './outcome.js'

const warm: SharedArrayBuffer[] = []
const KEEP = 4
/** Larger buffers are not kept: holding them would cost more memory than their faults cost time. */
const KEEP_MAX_BYTES = 256 * 1024 * 1024

type Kind = new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number) => TypedArray

/**
 * Outputs of a size a map has used, zero-filled, their pages being faulted in by an idle worker
 * for the next such map. A spare is handed out at once, touched or not: the touching adds 0 to
 * one word per page atomically, which keeps whatever a map has written there meanwhile.
 */
const spares = new Map<number, SharedArrayBuffer>()
/** Below this, faults cost less than preparing a spare. */
const SPARE_MIN_BYTES = 1024 * 1024
/** Set when a typed map takes its output: a touching task still running stops, so it never delays a map. */
const touchStop = new Int32Array(new SharedArrayBuffer(4))
/** Outputs taken so far: a spare prepared later is skipped if a map took one meanwhile. */
let outputsTaken = 0

/** The input in shared memory (borrowed, warm when possible) and a fresh output of its kind. */
export function shareTypedArray(input: TypedArray): SharedArrays & { release(): void } {
  const Kind = input.constructor as Kind
  const { length, byteLength } = input
  const output = new Kind(freshBuffer(byteLength))
  if (input.buffer instanceof SharedArrayBuffer) return { original: input, input, output, stage: () => {}, release: () => {} }
  const buffer = borrow(byteLength)
  const bytes = new Uint8Array(buffer, 0, byteLength)
  const source = new Uint8Array(input.buffer, input.byteOffset, byteLength)
  const size = input.BYTES_PER_ELEMENT
  return {
    original: input,
    input: new Kind(buffer, 0, length),
    output,
    // Bytes, not elements: a plain memory copy. Chunks are staged once each, in order.
    stage: (start, end) => bytes.set(source.subarray(start * size, end * size), start * size),
    // A cancelled chunk's worker may still read it: harmless to whoever borrows it next.
    release: () => giveBack(buffer),
  }
}

/**
 * `array[start..]` as a Float64Array in borrowed shared memory, and an output of the same size
 * (borrowed too: the results are copied into the map's result array, so it is not the caller's);
 * undefined if an item is not a number. Numbers survive a Float64Array exactly (NaN and -0 too).
 */
export function shareNumbers(array: readonly unknown[], start: number): (SharedArrays & { release(): void }) | undefined {
  const n = array.length - start
  const inputBuffer = borrow(n * 8)
  const input = new Float64Array(inputBuffer, 0, n)
  for (let i = 0; i < n; i++) {
    const x = array[start + i]
    if (typeof x !== 'number') {
      giveBack(inputBuffer)
      return undefined
    }
    input[i] = x
  }
  const outputBuffer = borrow(n * 8)
  return {
    original: input,
    input,
    output: new Float64Array(outputBuffer, 0, n),
    stage: () => {},
    release: () => (giveBack(inputBuffer), giveBack(outputBuffer)),
  }
}

/** A new zero-filled buffer: the spare of exactly this size if there is one. */
function freshBuffer(bytes: number): SharedArrayBuffer {
  outputsTaken++
  Atomics.store(touchStop, 0, 1)
  const spare = spares.get(bytes)
  if (spare === undefined) return new SharedArrayBuffer(bytes)
  spares.delete(bytes)
  return spare
}

/**
 * After a map whose output was `bytes` long, keeps a spare output of that size for the next
 * one, and has `touch(buffer, stop)` (touchPages, on an idle worker) fault its pages in.
 */
export function prepareSpare(bytes: number, touch: (buffer: SharedArrayBuffer, stop: SharedArrayBuffer) => Promise<unknown>): void {
  if (bytes < SPARE_MIN_BYTES || bytes > KEEP_MAX_BYTES || spares.has(bytes)) return
  if (spares.size >= KEEP) spares.delete(spares.keys().next().value!) // the oldest size goes
  const buffer = new SharedArrayBuffer(bytes)
  spares.set(bytes, buffer)
  Atomics.store(touchStop, 0, 0)
  touch(buffer, touchStop.buffer as SharedArrayBuffer).catch(() => {}) // the pool closed: an untouched spare is still a new buffer
}

/**
 * prepareSpare once the caller has its result: allocating 8 MB can take milliseconds (the
 * allocator zero-fills reused memory). Skipped if another typed map has started meanwhile: its
 * touching would compete with that map, which prepares its own spare when it ends.
 */
export function prepareSpareLater(bytes: number, touch: (buffer: SharedArrayBuffer, stop: SharedArrayBuffer) => Promise<unknown>): void {
  const taken = outputsTaken
  setImmediate(() => {
    if (outputsTaken === taken) prepareSpare(bytes, touch)
  }).unref()
}

function borrow(bytes: number): SharedArrayBuffer {
  // A kept buffer that fits without wasting more than its size again.
  const i = warm.findIndex((b) => b.byteLength >= bytes && b.byteLength <= bytes * 2 + 4096)
  return i === -1 ? new SharedArrayBuffer(bytes) : warm.splice(i, 1)[0]!
}

function giveBack(buffer: SharedArrayBuffer): void {
  if (buffer.byteLength > KEEP_MAX_BYTES) return
  warm.push(buffer)
  if (warm.length > KEEP) warm.shift() // the oldest goes: recent sizes are the likely next ones
}
