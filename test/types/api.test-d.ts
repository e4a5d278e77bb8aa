import { describe, expectTypeOf, it } from 'vitest'
import { gather, remote, type Compute, type Finished, type Pending } from 'spindle'
import type * as Tasks from '../fixtures/typed-tasks.js'

const t = remote<typeof Tasks>(new URL('../fixtures/typed-tasks.js', import.meta.url))
declare const compute: Compute

describe('remote()', () => {
  it('maps each exported function to one returning a Pending of its awaited result', () => {
    expectTypeOf(t.multiply(2, 3)).toEqualTypeOf<Pending<number>>()
    expectTypeOf(t.load('x')).toEqualTypeOf<Pending<{ rows: number[] }>>()
    expectTypeOf(t.greet('a')).toEqualTypeOf<Pending<string>>()
  })

  it('accepts a Pending wherever a value of its type is accepted', () => {
    expectTypeOf(t.multiply(t.multiply(1, 2), 3)).toEqualTypeOf<Pending<number>>()
    // @ts-expect-error a Pending<string> is not a number
    t.multiply(t.greet('a'), 3)
    // @ts-expect-error a string is not a number
    t.multiply('2', 3)
    // @ts-expect-error too few arguments
    t.multiply(2)
  })

  it('leaves out exports that are not functions', () => {
    // @ts-expect-error version is a string, not a task
    void t.version
  })
})

describe('gather() and compute', () => {
  it('types a batch per position, like Promise.all', async () => {
    const batch = gather(t.multiply(2, 3), t.greet('x'), t.load('p'))
    expectTypeOf(batch).toEqualTypeOf<Pending<[number, string, { rows: number[] }]>>()
    expectTypeOf(await compute.run(batch)).toEqualTypeOf<[number, string, { rows: number[] }]>()
    expectTypeOf(await compute.run(t.multiply(1, 2))).toEqualTypeOf<number>()
    expectTypeOf(await compute.broadcast(t.greet('n'))).toEqualTypeOf<string[]>()
  })

  it('streams values in order, or tagged results whose index narrows the value', async () => {
    const batch = gather(t.multiply(2, 3), t.greet('x'))
    for await (const value of compute.stream(batch)) expectTypeOf(value).toEqualTypeOf<number | string>()
    for await (const r of compute.stream(batch, { ordered: false })) {
      expectTypeOf(r).toEqualTypeOf<Finished<number, 0> | Finished<string, 1>>()
      if (r.index === 0) expectTypeOf(r.value).toEqualTypeOf<number>()
    }
  })

  it('rejects options that do not exist', () => {
    // @ts-expect-error `timeot` is not an option
    void compute.run(t.multiply(1, 2), { timeot: 5 })
    // @ts-expect-error node is a number or 'head'
    void compute.run(t.multiply(1, 2), { node: 'tail' })
  })
})
