import { describe, it, expect } from 'vitest'
import { shard, type ShardOptions } from '../../src/worker/shard.js'
import { callOwners, type InstanceInfo } from '../../src/worker/context.js'
import { InvalidOptionError } from '../../src/errors.js'
import { caught } from '../helpers/testing.js'

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** Every node's part, for explicit options. */
function allParts<T>(data: readonly T[], totalNodes: number, options: ShardOptions = {}): T[][] {
  return range(totalNodes).map((node) => shard(data, { ...options, node, totalNodes }))
}

/** A deterministic PRNG for the property test, independent of the one under test. */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe('shard', () => {
  it('is strided by default: node k gets k, k+N, k+2N, ...', () => {
    const data = range(10)
    expect(shard(data, { node: 0, totalNodes: 3 })).toEqual([0, 3, 6, 9])
    expect(shard(data, { node: 1, totalNodes: 3 })).toEqual([1, 4, 7])
    expect(shard(data, { node: 2, totalNodes: 3 })).toEqual([2, 5, 8])
  })

  it('gives nodes past the end an empty part', () => {
    expect(shard([1, 2], { node: 3, totalNodes: 4 })).toEqual([])
    expect(shard([], { node: 0, totalNodes: 1 })).toEqual([])
  })

  it('returns a fresh array, leaving the input alone', () => {
    const data = [1, 2, 3]
    const part = shard(data, { node: 0, totalNodes: 1 })
    expect(part).toEqual(data)
    expect(part).not.toBe(data)
    part.push(4)
    expect(data).toEqual([1, 2, 3])
  })

  it('covers every element exactly once for many (length, N)', () => {
    for (let length = 0; length <= 40; length++) {
      for (let n = 1; n <= 9; n++) {
        for (const shuffle of [false, true]) {
          const parts = allParts(range(length), n, { shuffle, seed: length * 31 + n })
          expect(parts.flat().sort((a, b) => a - b)).toEqual(range(length))
          const sizes = parts.map((p) => p.length)
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
        }
      }
    }
  })

  it('dropLast gives equal contiguous blocks and drops the remainder', () => {
    const parts = allParts(range(11), 3, { dropLast: true })
    expect(parts).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ])
    expect(allParts(range(2), 3, { dropLast: true })).toEqual([[], [], []])
    for (let length = 0; length <= 30; length++) {
      for (let n = 1; n <= 7; n++) {
        const ps = allParts(range(length), n, { dropLast: true })
        const block = Math.floor(length / n)
        expect(ps.every((p) => p.length === block)).toBe(true)
        expect(ps.flat()).toEqual(range(block * n))
      }
    }
  })

  describe('shuffle', () => {
    const data = range(100)

    it('is the same permutation for the same seed on every node', () => {
      const a = allParts(data, 4, { shuffle: true, seed: 7 })
      const b = allParts(data, 4, { shuffle: true, seed: 7 })
      expect(a).toEqual(b)
      expect(a.flat()).not.toEqual(allParts(data, 4).flat()) // it did shuffle
    })

    it('differs with a different seed', () => {
      const a = shard(data, { node: 0, totalNodes: 1, shuffle: true, seed: 1 })
      const b = shard(data, { node: 0, totalNodes: 1, shuffle: true, seed: 2 })
      const c = shard(data, { node: 0, totalNodes: 1, shuffle: true, seed: 2 + 2 ** 32 })
      expect(a).not.toEqual(b)
      expect(b).not.toEqual(c)
    })

    it('defaults the seed to 0', () => {
      expect(shard(data, { node: 0, totalNodes: 2, shuffle: true })).toEqual(
        shard(data, { node: 0, totalNodes: 2, shuffle: true, seed: 0 }),
      )
    })

    it('keeps the union complete, with and without dropLast', () => {
      expect(allParts(data, 7, { shuffle: true, seed: 3 }).flat().sort((x, y) => x - y)).toEqual(data)
      const dropped = allParts(data, 7, { shuffle: true, seed: 3, dropLast: true }).flat()
      expect(dropped).toHaveLength(98)
      expect(new Set(dropped).size).toBe(98)
    })
  })

  describe('several arrays', () => {
    it('shard alike and return a tuple', () => {
      const xs = range(10)
      const ys = xs.map((x) => `y${x}`)
      const [xp, yp] = shard(xs, ys, { node: 1, totalNodes: 3, shuffle: true, seed: 5 })
      expect(xp).toEqual(shard(xs, { node: 1, totalNodes: 3, shuffle: true, seed: 5 }))
      expect(yp).toEqual(xp.map((x) => `y${x}`))
    })

    it('works with three arrays and no options inside a task', () => {
      const info = ctx({ node: 0, totalNodes: 2 })
      const [a, b, c] = runInContext(info, undefined, () => shard([1, 2, 3], ['a', 'b', 'c'], [true, false, true]))
      expect(a).toEqual([1, 3])
      expect(b).toEqual(['a', 'c'])
      expect(c).toEqual([true, true])
    })

    it('throws ERR_SPINDLE_SHARD_MISMATCH with the lengths', () => {
      const error = caught(() => shard(range(10), range(12), { node: 0, totalNodes: 2 }))
      expect(error.code).toBe('ERR_SPINDLE_SHARD_MISMATCH')
      expect(error.message).toBe(
        'shard() got arrays of different lengths: 10, 12. Pass arrays of equal length, one element per item.',
      )
    })
  })

  it('keeps the kind of typed arrays', () => {
    const data = Float64Array.from(range(10), (x) => x / 2)
    const part = shard(data, { node: 1, totalNodes: 3 })
    expect(part).toBeInstanceOf(Float64Array)
    expect([...part]).toEqual([0.5, 2, 3.5])
    const [ints, labels] = shard(new Int32Array([5, 6, 7, 8]), ['a', 'b', 'c', 'd'], {
      node: 0,
      totalNodes: 2,
      dropLast: true,
    })
    expect(ints).toEqual(new Int32Array([5, 6]))
    expect(labels).toEqual(['a', 'b'])
    expect(shard(new BigInt64Array([1n, 2n, 3n]), { node: 0, totalNodes: 2 })).toEqual(new BigInt64Array([1n, 3n]))
  })

  it('throws ERR_SPINDLE_NOT_IN_TASK outside a task, saying how to call it', () => {
    for (const call of [() => shard([1, 2]), () => shard([1, 2], { node: 0 }), () => shard([1], [2])]) {
      const error = caught(call)
      expect(error.code).toBe('ERR_SPINDLE_NOT_IN_TASK')
      expect(error.message).toContain('shard(data, { node: 0, totalNodes: 4 })')
    }
  })

  it('takes the node from the task context, and lets explicit options win', () => {
    const info = ctx({ node: 1, totalNodes: 4 })
    runInContext(info, undefined, () => {
      expect(shard(range(10))).toEqual([1, 5, 9])
      expect(shard(range(10), { dropLast: true })).toEqual([2, 3])
      expect(shard(range(10), { node: 3 })).toEqual([3, 7])
      expect(shard(range(10), { totalNodes: 2 })).toEqual([1, 3, 5, 7, 9])
      expect(shard(range(10), { node: 0, totalNodes: 5 })).toEqual([0, 5])
    })
  })

  it('rejects invalid node and totalNodes with p-map style messages', () => {
    const cases: [ShardOptions, string][] = [
      [{ node: 0, totalNodes: 0 }, 'Expected `totalNodes` to be an integer >= 1, got `0` (number)'],
      [{ node: 0, totalNodes: 1.5 }, 'Expected `totalNodes` to be an integer >= 1, got `1.5` (number)'],
      [{ node: 0, totalNodes: Number.NaN }, 'Expected `totalNodes` to be an integer >= 1, got `NaN` (number)'],
      [{ node: 0, totalNodes: '2' as unknown as number }, 'Expected `totalNodes` to be an integer >= 1, got `2` (string)'],
      [{ node: 4, totalNodes: 4 }, 'Expected `node` to be an integer from 0 to 3, got `4` (number)'],
      [{ node: -1, totalNodes: 4 }, 'Expected `node` to be an integer from 0 to 3, got `-1` (number)'],
      [{ node: 0.5, totalNodes: 4 }, 'Expected `node` to be an integer from 0 to 3, got `0.5` (number)'],
      [{ node: 0, totalNodes: 1, seed: 0.5 }, 'Expected `seed` to be an integer, got `0.5` (number)'],
      [{ node: 0, totalNodes: 1, shuffle: 1 as unknown as boolean }, 'Expected `shuffle` to be a boolean, got `1` (number)'],
    ]
    for (const [options, message] of cases) {
      const error = caught(() => shard([1, 2, 3], options))
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(error.code).toBe('ERR_SPINDLE_INVALID_OPTION')
      expect(error.message).toBe(message)
    }
  })

  it('rejects unknown options and non-array data', () => {
    const typo = caught(() => shard([1], { nodes: 0, totalNodes: 1 } as ShardOptions))
    expect(typo.code).toBe('ERR_SPINDLE_INVALID_OPTION')
    expect(typo.message).toContain('`nodes`')
    const notArray = caught(() => shard(new Set([1]) as unknown as number[], { node: 0, totalNodes: 1 }))
    expect(notArray.code).toBe('ERR_SPINDLE_INVALID_ARGUMENT')
    expect(notArray.message).toContain('a Set as argument 1')
    expect(caught(() => (shard as (...a: unknown[]) => unknown)({ node: 0, totalNodes: 1 })).code).toBe(
      'ERR_SPINDLE_INVALID_ARGUMENT',
    )
  })

  it('treats a trailing undefined as no options', () => {
    runInContext(ctx({ node: 0, totalNodes: 2 }), undefined, () => {
      expect(shard([1, 2, 3], undefined)).toEqual([1, 3])
    })
  })

  it('property: parts partition the data for random lengths, node counts and modes', () => {
    const random = lcg(12345)
    for (let trial = 0; trial < 300; trial++) {
      const length = Math.floor(random() * 500)
      const n = 1 + Math.floor(random() * 16)
      const options: ShardOptions = { dropLast: random() < 0.5, shuffle: random() < 0.5, seed: Math.floor(random() * 1e9) }
      const data = range(length).map((i) => `item${i}`)
      const parts = allParts(data, n, options)
      const seen = parts.flat()
      // Disjoint: no element on two nodes.
      expect(new Set(seen).size).toBe(seen.length)
      if (options.dropLast) {
        const block = Math.floor(length / n)
        expect(parts.every((p) => p.length === block)).toBe(true)
      } else {
        // Complete: every element somewhere.
        expect(seen.length).toBe(length)
        expect(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length))).toBeLessThanOrEqual(1)
      }
      // The same call again (another node computing it) agrees.
      expect(allParts(data, n, options)).toEqual(parts)
    }
  })
})

describe('shard types', () => {
  it('returns a tuple typed per array', () => {
    const a: number[] = [1, 2]
    const b: string[] = ['x', 'y']
    const [na, sb]: [number[], string[]] = shard(a, b, { node: 0, totalNodes: 1 })
    const [na2, sb2]: [number[], string[]] = runInContext(ctx({}), undefined, () => shard(a, b))
    const single: number[] = shard(a, { node: 0, totalNodes: 1 })
    const typed: Float32Array = shard(new Float32Array(2), { node: 0, totalNodes: 1 })
    // @ts-expect-error a part of a string[] is not a number[]
    const wrong: number[] = shard(b, { node: 0, totalNodes: 1 })
    expect([na, sb, na2, sb2, single, typed, wrong].length).toBe(7)
  })
})

/** Runs `fn` as the synchronous part of a task placed on `info` (as the inline backend does). */
function runInContext<T>(info: InstanceInfo, pool: undefined, fn: () => T): T {
  return callOwners.run({ seq: 1, task: 'test', place: { info, pool } }, fn)
}

function ctx(over: Partial<InstanceInfo>): InstanceInfo {
  const totalNodes = over.totalNodes ?? 1
  return {
    node: 0,
    rank: over.node ?? 0,
    totalNodes,
    worker: 0,
    workersPerNode: 1,
    isHead: (over.node ?? 0) === 0,
    peers: range(totalNodes).map((i) => `inline-${i}`),
    jobId: 'test-job',
    backend: 'inline',
    ...over,
  }
}
