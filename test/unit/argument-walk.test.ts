// Finding Pendings in arguments and putting their values in place (task/walk.ts).
import { describe, expect, it } from 'vitest'
import { SpindleError } from '../../src/errors.js'
import { Pending } from '../../src/task/pending.js'
import { planArguments, substitute, visitInOrder } from '../../src/task/walk.js'

const task = { module: 'file:///tasks.js', name: 'f' }
const call = (...args: unknown[]) => Pending.call<number>(task, args)
const values = new Map<Pending<unknown>, unknown>()
const valueOf = (p: Pending<unknown>) => values.get(p)

describe('planArguments / substitute', () => {
  it('copies only the arrays and objects that hold a Pending; everything else is passed as it is', () => {
    const a = call(1)
    values.set(a, 'A')
    const big = Array.from({ length: 1000 }, (_, i) => i)
    const instance = new (class Box { constructor(readonly inner = a) {} })()
    const map = new Map([['k', a]])
    const args = [{ big, nested: [1, { a }], instance, map }, a, big]
    const plan = planArguments(args)
    expect(plan.pendings).toEqual([a])
    const out = substitute(args, plan, valueOf) as [Record<string, unknown>, unknown, unknown]
    expect(out[0]).toEqual({ big, nested: [1, { a: 'A' }], instance, map })
    expect(out[0]!.big).toBe(big) // not copied
    expect(out[0]!.instance).toBe(instance) // not looked into
    expect(out[1]).toBe('A')
    expect((args[0] as { nested: unknown[] }).nested[1]).toEqual({ a }) // the caller's objects are untouched
  })

  it('finds nothing, and allocates no plan, in plain values', () => {
    expect(planArguments([1, 'x', [1, 2], { a: [3] }])).toBe(planArguments([]))
  })

  it('keeps a shared container shared and a cycle a cycle, with the values in place', () => {
    const a = call(2)
    values.set(a, 42)
    const shared = [a]
    const cyclic: Record<string, unknown> = { a }
    cyclic.self = cyclic
    const out = substitute([shared, shared, cyclic], planArguments([shared, shared, cyclic]), valueOf) as [unknown[], unknown[], Record<string, unknown>]
    expect(out[0]).toEqual([42])
    expect(out[0]).toBe(out[1])
    expect(out[2]!.a).toBe(42)
    expect(out[2]!.self).toBe(out[2])
  })

  it('walks 100,000-deep arrays without recursion', () => {
    const a = call(3)
    values.set(a, 'deep')
    let nested: unknown = a
    for (let i = 0; i < 100_000; i++) nested = [nested]
    let out = substitute([nested], planArguments([nested]), valueOf)[0]
    for (let i = 0; i < 100_000; i++) out = (out as unknown[])[0]
    expect(out).toBe('deep')
  })
})

describe('visitInOrder', () => {
  it('visits each Pending once, after what it depends on, through arrays and objects', () => {
    const leaf = call(0)
    const left = call([leaf])
    const right = call({ x: leaf })
    const top = call(left, [right, { again: left }])
    const seen: Pending<unknown>[] = []
    visitInOrder(top, (p) => seen.includes(p), (p) => seen.push(p))
    expect(seen).toEqual([leaf, left, right, top])
  })

  it('refuses a Pending that holds itself through an array changed after the call', () => {
    const holder: unknown[] = []
    const self = call(holder)
    holder.push(self)
    const error = (() => {
      try {
        visitInOrder(self, () => false, () => {})
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(SpindleError)
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_CYCLE', message: expect.stringMatching(/depends on itself/) })
  })
})
