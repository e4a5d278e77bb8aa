/**
 * Shared memory for typed-array maps. A typed array that is not already in a SharedArrayBuffer
 * is copied into one once, so the workers read it in place. Fresh memory costs a page fault per
 * 4 KiB on first touch (8 MB: ~3 ms, more than the copy itself), so input buffers are kept warm
 * for the next map. Outputs are always fresh: they belong to the caller.
 */
import type { SharedArrays, TypedArray } from './outcome.js'

const warm: SharedArrayBuffer[] = []
const KEEP = 4

type Kind = new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number) => TypedArray

/** The input in shared memory (borrowed, warm when possible) and a fresh output of its kind. */
export function shareTypedArray(input: TypedArray): SharedArrays & { release(): void } {
  const Kind = input.constructor as Kind
  const output = new Kind(new SharedArrayBuffer(input.byteLength))
  if (input.buffer instanceof SharedArrayBuffer) return { input, output, release: () => {} }
  const buffer = borrow(input.byteLength)
  // Bytes, not elements: a plain memory copy.
  new Uint8Array(buffer, 0, input.byteLength).set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength))
  return {
    input: new Kind(buffer, 0, input.length),
    output,
    release: () => void (warm.length < KEEP && warm.push(buffer)),
  }
}

function borrow(bytes: number): SharedArrayBuffer {
  // A kept buffer that fits without wasting more than its size again.
  const i = warm.findIndex((b) => b.byteLength >= bytes && b.byteLength <= bytes * 2 + 4096)
  return i === -1 ? new SharedArrayBuffer(bytes) : warm.splice(i, 1)[0]!
}
