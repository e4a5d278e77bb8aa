import { describe, expectTypeOf, it } from 'vitest'
import { gather, remote, type Actor, type ActorEvent, type Compute, type Pending, type RemoteClass } from 'spindle'
import type * as Actors from '../fixtures/typed-actors.js'

const t = remote<typeof Actors>(new URL('../fixtures/typed-actors.js', import.meta.url))
declare const compute: Compute

describe('actors', () => {
  it('remote() gives classes as remote classes, which cannot be called', () => {
    expectTypeOf(t.Model).toEqualTypeOf<RemoteClass<typeof Actors.Model>>()
    // @ts-expect-error a class is made with compute.actor(), not called
    t.Model([1])
  })

  it('checks the constructor arguments, with options after them', async () => {
    expectTypeOf(await compute.actor(t.Model, [1, 2])).toEqualTypeOf<Actor<Actors.Model>>()
    await compute.actor(t.Model, [1, 2], 'named', { node: 1, concurrency: 2, restart: 1 })
    await compute.actor(t.Model, [1], { onEvent: (event) => expectTypeOf(event).toEqualTypeOf<ActorEvent>() })
    // @ts-expect-error weights are numbers
    await compute.actor(t.Model, ['a'])
    // @ts-expect-error the constructor needs its weights
    await compute.actor(t.Model)
    // @ts-expect-error unknown option
    await compute.actor(t.Model, [1], 'n', { nodes: 1 })
    // @ts-expect-error a function is not a class
    await compute.actor(t.plain, 1)
    expectTypeOf(await compute.actors(t.Cache)).toEqualTypeOf<Array<Actor<Actors.Cache>>>()
    // @ts-expect-error actors() makes one per node: no `node`
    await compute.actors(t.Cache, { node: 1 })
  })

  it('types methods as promises of their results, arguments checked', async () => {
    const model = await compute.actor(t.Model, [1, 2])
    expectTypeOf(model.score([1, 2])).toEqualTypeOf<Promise<number>>()
    expectTypeOf(model.load('x')).toEqualTypeOf<Promise<{ rows: number }>>()
    // A property read is a promise of its value.
    expectTypeOf(await model.name).toEqualTypeOf<string>()
    // @ts-expect-error score takes an array of numbers
    model.score('a')
    // @ts-expect-error no such method
    model.predict([1])
    // The handle's own names: close disposes (the class's own close is not reachable through it), with takes call options.
    expectTypeOf(model.close).toEqualTypeOf<() => Promise<void>>()
    expectTypeOf(model.with({ timeout: 100, signal: AbortSignal.timeout(5) }).score([1])).toEqualTypeOf<Promise<number>>()
    // @ts-expect-error unknown call option
    model.with({ timout: 100 })
    expectTypeOf(model[Symbol.asyncDispose]).toEqualTypeOf<() => Promise<void>>()
  })

  it('gives its methods as Pendings, taking values or Pendings', async () => {
    const model = await compute.actor(t.Model, [1, 2])
    expectTypeOf(model.pending.score([1])).toEqualTypeOf<Pending<number>>()
    expectTypeOf(model.pending.load('x')).toEqualTypeOf<Pending<{ rows: number }>>()
    const weights = model.pending.score([2])
    expectTypeOf(await compute.run(gather(model.pending.score([1]), weights))).toEqualTypeOf<[number, number]>()
    // @ts-expect-error score takes numbers
    model.pending.score([model.pending.load('x')])
    // @ts-expect-error properties are not methods
    model.pending.name()
  })
})
