// Option checking shared by every entry point: options must be an object, and a name from the
// pool or map a user comes from is answered with spindle's own name for it.
import { availableParallelism } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { Compute, ParallelExecutor, parallelMap } from 'spindle'
import { checkKnownKeys } from '../../src/options.js'
import { tasks as t } from '../helpers/pools.js'

describe('option checks', () => {
  let pool: Compute | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  it('refuses options that are not an object, instead of running without them', async () => {
    pool = await Compute.start({ backend: 'inline' })
    for (const bad of [1, 'fast', null, true, [5]]) {
      await expect(pool.run(t.add(1, 2), bad as never)).rejects.toMatchObject({
        code: 'ERR_SPINDLE_INVALID_OPTION',
        message: expect.stringContaining('Expected the options of compute.run() to be an object'),
      })
    }
    expect(() => pool!.stream(t.add(1, 2), 3 as never)).toThrow(/options of compute\.stream\(\) to be an object, got `3` \(number\)/)
    await expect(Compute.start(4 as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    await expect(parallelMap([1], (x: number) => x, 2 as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    expect(await pool.run(t.add(1, 2), {})).toBe(3) // {} and no options still mean "none"
  })

  it('with no options, a pool has a thread per core: the calling thread only sends and receives (SPEC)', async () => {
    pool = await Compute.start()
    expect([pool.backend, pool.nodes]).toEqual(['thread', availableParallelism()])
    expect(new ParallelExecutor().maxWorkers).toBe(availableParallelism())
  })

  it("answers a peer's option name with spindle's", async () => {
    await expect(Compute.start({ maxThreads: 4 } as never)).rejects.toThrow(
      'Unknown option "maxThreads" for Compute.start(). Did you mean "workers"? It is spindle\'s name for piscina\'s and tinypool\'s `maxThreads` here.',
    )
    await expect(Compute.start({ minThreads: 1 } as never)).rejects.toThrow('Did you mean "workers"?')
    expect(() => new ParallelExecutor({ maxThreads: 4 } as never)).toThrow('Did you mean "maxWorkers"?')
    await expect(parallelMap([1], (x: number) => x, { taskTimeout: 5 } as never)).rejects.toThrow('Did you mean "timeout"?')
    await expect(parallelMap([1], (x: number) => x, { workerData: {} } as never)).rejects.toThrow('Did you mean "context"?')
  })

  it('falls back to the typo guess, then to the list of known options', () => {
    expect(() => checkKnownKeys('f()', { tiemout: 1 }, ['timeout', 'signal'])).toThrow('Unknown option "tiemout" for f(). Did you mean "timeout"?')
    expect(() => checkKnownKeys('f()', { zzz: 1 }, ['timeout', 'signal'])).toThrow('Known options: timeout, signal.')
    // A peer's name that this entry point has no counterpart for is treated as any unknown key.
    expect(() => checkKnownKeys('f()', { maxThreads: 1 }, ['timeout'])).toThrow('Unknown option "maxThreads" for f(). Known options: timeout.')
  })
})
