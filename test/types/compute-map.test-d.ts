import { describe, expectTypeOf, it } from 'vitest'
import { remote, type Compute, type SettledItem } from 'spindle'
import type * as Tasks from '../fixtures/typed-tasks.js'

const t = remote<typeof Tasks>(new URL('../fixtures/typed-tasks.js', import.meta.url))
declare const compute: Compute

describe('compute.map()', () => {
  it('types its results as parallelMap does', () => {
    expectTypeOf(compute.map([1, 2], (x: number) => String(x))).toEqualTypeOf<Promise<string[]>>()
    expectTypeOf(compute.map([1, 2], (x: number) => x * 2, { settled: true })).toEqualTypeOf<Promise<SettledItem<number>[]>>()
    expectTypeOf(compute.map(new Float32Array(4), (x: number) => x * 2)).toEqualTypeOf<Promise<Float32Array>>()
    expectTypeOf(compute.map([2, 3], (x: number) => t.multiply(x, 2))).toEqualTypeOf<Promise<number[]>>()
  })

  it('takes no pool of its own', () => {
    // @ts-expect-error compute.map runs on its own pool
    void compute.map([1], (x: number) => x, { workers: 2 })
  })
})
