/**
 * Shared memory for typed-array maps. A typed array that is not already in a SharedArrayBuffer
 * is copied into one, range by range as chunks are sent (so copying overlaps with the workers'
 * work, and what this thread maps itself is never copied), and the workers read it in place.
 * Fresh memory costs a page fault per 4 KiB on first touch (8 MB: ~3 ms, more than the copy
 * itself), so input buffers are kept warm for the next map. Outputs are always fresh: they
 * belong to the caller.
 */
import type { SharedArrays, TypedArray } from './outcome.js'

const warm: SharedArrayBuffer[] = []
const KEEP = 4

type Kind = new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number) => TypedArray

/** The input in shared memory (borrowed, warm when possible) and a fresh output of its kind. */
export function shareTypedArray(input: TypedArray): SharedArrays & { release(): void } {
  const Kind = input.constructor as Kind
  const output = new Kind(new SharedArrayBuffer(input.byteLength))
  if (input.buffer instanceof SharedArrayBuffer) return { original: input, input, output, stage: () => {}, release: () => {} }
  const buffer = borrow(input.byteLength)
  const bytes = new Uint8Array(buffer, 0, input.byteLength)
  const source = new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  const size = input.BYTES_PER_ELEMENT
  return {
    original: input,
    input: new Kind(buffer, 0, input.length),
    output,
    // Bytes, not elements: a plain memory copy. Chunks are staged once each, in order.
    stage: (start, end) => bytes.set(source.subarray(start * size, end * size), start * size),
    release: () => void (warm.length < KEEP && warm.push(buffer)),
  }
}

function borrow(bytes: number): SharedArrayBuffer {
  // A kept buffer that fits without wasting more than its size again.
  const i = warm.findIndex((b) => b.byteLength >= bytes && b.byteLength <= bytes * 2 + 4096)
  return i === -1 ? new SharedArrayBuffer(bytes) : warm.splice(i, 1)[0]!
}
