import { describe, expectTypeOf, it } from 'vitest'
import { Pipeline, remote, type Pending } from 'spindle'

interface Tasks {
  one(): number
  name(): string
  sum(values: number[]): number
  pair(p: readonly [number, string]): string
  report(o: { a: number; b: string[]; when?: Date }): string
}
const t = remote<Tasks>(new URL('./tasks.js', import.meta.url))

describe('Pendings nested in arguments', () => {
  it('are accepted inside arrays, tuples and plain objects, each where a value of its type goes', () => {
    expectTypeOf(t.sum([t.one(), 2, t.sum([t.one()])])).toEqualTypeOf<Pending<number>>()
    expectTypeOf(t.pair([t.one(), t.name()])).toEqualTypeOf<Pending<string>>()
    expectTypeOf(t.report({ a: t.one(), b: [t.name(), 'x'] })).toEqualTypeOf<Pending<string>>()
  })

  it('are a compile error where the type is wrong', () => {
    // @ts-expect-error a Pending<string> is not a number
    t.sum([t.one(), t.name()])
    // @ts-expect-error a string is not a number
    t.sum([t.one(), 'x'])
    // @ts-expect-error the tuple's second element is a string
    t.pair([t.one(), t.one()])
    // @ts-expect-error `b` holds strings
    t.report({ a: t.one(), b: [t.one()] })
    // @ts-expect-error a Date is passed as it is: no Pendings inside it
    t.report({ a: 1, b: [], when: { getTime: t.one() } })
  })

  it('work with pipeline steps inside arrays', () => {
    const p = new Pipeline('nested')
    const a = p.step('a', t.one())
    expectTypeOf(p.step('b', t.sum([a, a, 3]))).toEqualTypeOf<Pending<number>>()
    const s = p.step('s', t.name())
    // @ts-expect-error step "s" gives a string
    p.step('c', t.sum([a, s]))
  })
})
