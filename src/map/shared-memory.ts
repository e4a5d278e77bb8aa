/**
 * Shared memory for typed-array maps. Workers read the input and write their results in
 * SharedArrayBuffers; the caller gets a plain typed array of the input's kind.
 *
 * Fresh memory costs a page fault per 4 KiB on first touch (8 MB: ~3 ms on a VM, more than
 * the map of a cheap function itself), so the shared buffers are borrowed from a small warm
 * pool and given back for the next map:
 * - the input, unless already shared, is copied in range by range as chunks are sent (the copy
 *   overlaps with the workers' work);
 * - the workers write into a warm output buffer, and each finished chunk is copied from there
 *   into the caller's result while the other chunks run. Never in place over the input: a chunk
 *   re-run after a crash must read its input unchanged.
 * A buffer goes back to the pool only when no worker can still touch it: the output only after
 * every chunk succeeded (a cancelled chunk's worker may write on for a moment).
 */
import type { SharedArrays, TypedArray } from './outcome.js'

const warm: SharedArrayBuffer[] = []
const KEEP = 4
/** Larger buffers are not kept: holding them would cost more memory than their faults cost time. */
const KEEP_MAX_BYTES = 256 * 1024 * 1024

type Kind = new (buffer: SharedArrayBuffer | number, byteOffset?: number, length?: number) => TypedArray

/** Shared input and output for a map of `input`, and the plain result array the caller gets. */
export function shareTypedArray(input: TypedArray): SharedArrays & { release(succeeded: boolean): void } {
  const Kind = input.constructor as Kind
  const { length, byteLength } = input
  const outputBuffer = borrow(byteLength)
  const output = new Kind(outputBuffer, 0, length)
  // Allocated when the first chunk is back, not before the first is sent: zeroing it overlaps with the workers.
  let result: TypedArray | undefined
  const lazy = {
    get result(): TypedArray {
      return (result ??= new Kind(length))
    },
    collect: (start: number, end: number) => lazy.result.set(output.subarray(start, end), start),
  }
  if (input.buffer instanceof SharedArrayBuffer) {
    return Object.assign(lazy, { original: input, input, output, stage: () => {}, release: (ok: boolean) => void (ok && giveBack(outputBuffer)) })
  }
  const inputBuffer = borrow(byteLength)
  const bytes = new Uint8Array(inputBuffer, 0, byteLength)
  const source = new Uint8Array(input.buffer, input.byteOffset, byteLength)
  const size = input.BYTES_PER_ELEMENT
  return Object.assign(lazy, {
    original: input,
    input: new Kind(inputBuffer, 0, length),
    output,
    // Bytes, not elements: a plain memory copy. Chunks are staged once each, in order.
    stage: (start: number, end: number) => bytes.set(source.subarray(start * size, end * size), start * size),
    release: (ok: boolean) => {
      giveBack(inputBuffer) // a cancelled chunk's worker only reads it
      if (ok) giveBack(outputBuffer)
    },
  })
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
