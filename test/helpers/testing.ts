// Small helpers the unit tests share.
import { expect } from 'vitest'
import { SpindleError } from '../../src/errors.js'

/**
 * The SpindleError that `fn` throws (fails the test if it throws nothing, or something else).
 * `kind`: the class to expect, where the code under test is dist/'s rather than src/'s.
 */
export function caught<E extends Error = SpindleError>(fn: () => unknown, kind: abstract new (...args: never[]) => E = SpindleError as never): E {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(kind)
    return error as E
  }
  throw new Error(`expected a ${kind.name} to be thrown`)
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
