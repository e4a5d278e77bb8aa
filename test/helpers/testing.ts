// Small helpers the unit tests share.
import { expect } from 'vitest'
import { SpindleError } from '../../src/errors.js'

/** The SpindleError that `fn` throws (fails the test if it throws nothing, or something else). */
export function caught(fn: () => unknown): SpindleError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(SpindleError)
    return error as SpindleError
  }
  throw new Error('expected a SpindleError to be thrown')
}

/** mulberry32: a seeded PRNG, so a failing property-test seed can be replayed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
