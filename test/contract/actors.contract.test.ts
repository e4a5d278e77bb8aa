// Actors on every backend: state kept between calls, call order, concurrency, lossless errors,
// cloneability with paths, bad input, timeouts, cancellation, close and dispose, and the loss
// of the actor's worker or process (ActorLostError, restart).
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ActorLostError, gather, ParallelExecutor, Pipeline, remote, type ActorEvent } from 'spindle'
import { BACKENDS, tasks, usePools, useProbes } from '../helpers/pools.js'
import type * as ActorTasks from '../fixtures/actor-tasks.mjs'

const a = remote<typeof ActorTasks>(new URL('../fixtures/actor-tasks.mjs', import.meta.url))

describe.each(BACKENDS)('actors on $name', ({ name, options }) => {
  const start = usePools()
  const probe = useProbes()
  const local = name !== 'inline' // a worker of its own (inline actors live on the caller's thread)

  it('keeps its state between calls; methods and properties give promises of their values', async () => {
    const pool = await start(options)
    await using counter = await pool.actor(a.Counter, 10)
    expect(await counter.add(5)).toBe(15)
    expect(await counter.add(1)).toBe(16)
    expect(await counter.count).toBe(16)
    expect(await counter.label).toBe('counter')
    // Paths below a member, and with(), go through comlink's proxies to the same mailbox.
    // (comlink's types promise a property's value, not paths below it: hence the cast)
    const deep = counter as unknown as { config: { depth: { n: Promise<number>; twice(x: number): Promise<number> } } }
    expect(await deep.config.depth.n).toBe(3)
    expect(await deep.config.depth.twice(4)).toBe(8)
    expect(await counter.with({}).add(0)).toBe(16)
    // Calls made together run in call order and each sees the one before.
    const many = await Promise.all(Array.from({ length: 2000 }, () => counter.add(1)))
    expect(many[0]).toBe(17)
    expect(many.at(-1)).toBe(2016)
    expect(many.every((value, i) => value === 17 + i)).toBe(true)
  })

  it('actors() makes one per node, in node order; { node } pins one', async () => {
    const pool = await start(options)
    const all = await pool.actors(a.Counter, 0)
    expect(all).toHaveLength(pool.nodes)
    expect((await Promise.all(all.map((actor) => actor.where()))).map((w) => w.node)).toEqual([...Array(pool.nodes).keys()])
    const last = pool.nodes - 1
    const pinned = await pool.actor(a.Counter, 1, { node: last })
    expect((await pinned.where()).node).toBe(last)
    // Each has its own state.
    await all[0]!.add(7)
    expect(await pinned.count).toBe(1)
  })

  it('its methods as Pendings: in a gather, taking and giving other calls\' values, and as pipeline steps', async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 0)
    expect(await pool.run(gather(counter.pending.add(5), counter.pending.add(tasks.echo(2))))).toEqual([5, 7])
    expect(await pool.run(tasks.echo(counter.pending.add(1)))).toBe(8)

    const p = new Pipeline('actor-steps')
    const first = p.step('first', counter.pending.add(10))
    const second = p.step('second', counter.pending.add(first)) // 18 + 18
    const echoed = p.step('echoed', tasks.echo(second))
    const run = await p.run({ executor: new ParallelExecutor({ backend: pool }), runLog: false })
    expect(run.status).toBe('succeeded')
    expect([run.output(first), run.output(second), run.output(echoed)]).toEqual([18, 36, 36])
    expect(await counter.count).toBe(36)
    const { node } = await counter.where()
    expect(run.steps.filter((step) => step.name !== 'echoed').map((step) => step.node)).toEqual([node, node]) // where they ran
    // The run's options reach the actor's calls: a signal already aborted stops it.
    await expect(pool.run(counter.pending.add(1), { signal: AbortSignal.abort(new Error('stopped')) })).rejects.toThrow('stopped')
    expect(await counter.count).toBe(36)
  })

  it('runs calls one at a time in call order, or up to `concurrency` at once', async () => {
    const pool = await start(options)
    const serial = await pool.actor(a.Recorder)
    // Were they overlapping, the shorter later calls would end first.
    await Promise.all([serial.step(0, 30), serial.step(1, 15), serial.step(2, 1)])
    expect(await serial.report()).toEqual({ log: ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2'], most: 1 })

    const parallel = await pool.actor(a.Recorder, { concurrency: 3 })
    expect(await Promise.all([0, 1, 2, 3, 4].map((i) => parallel.step(i, 5)))).toEqual([0, 1, 2, 3, 4])
    const { log, most } = await parallel.report()
    expect(most).toBe(3)
    expect(log.filter((line) => line.startsWith('start'))).toEqual(['start 0', 'start 1', 'start 2', 'start 3', 'start 4'])
  })

  it('rejects with what the method threw, class, code and cause intact, and goes on', async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 0)
    const error = await counter.fail('bad').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RangeError)
    expect(error).toMatchObject({ message: 'bad', code: 'E_COUNTER', cause: { message: 'inner' } })
    await expect(counter.failLater('later')).rejects.toThrow(TypeError)
    await expect((counter as unknown as { nope(): Promise<void> }).nope()).rejects.toThrow('Counter.nope is not a method (it is undefined)')
    expect(await counter.add(2)).toBe(2)
  })

  it('names the part of an argument or result that cannot travel, and goes on', async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 0)
    await expect(counter.giveFunction()).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'result.fn' })
    await expect(counter.take({ deep: [1, () => 2] } as never)).rejects.toMatchObject({
      code: 'ERR_SPINDLE_NOT_CLONEABLE',
      path: 'arguments[0].deep[1]',
    })
    await expect(pool.actor(a.Counter, (() => 1) as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'arguments[0]' })
    expect(await counter.add(1)).toBe(1)
  })

  it('refuses bad input before anything runs', async () => {
    const pool = await start(options)
    await expect(pool.actor(a.Broken, 'no disk')).rejects.toThrow('cannot start: no disk')
    await expect(pool.actor(a.arrow as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_ARGUMENT' })
    await expect(pool.actor((() => 1) as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    await expect(pool.actor(a.Counter, 1, { concurency: 2, node: 0 } as never)).rejects.toThrow('Did you mean "concurrency"?')
    await expect(pool.actor(a.Counter, 1, { concurrency: 0 })).rejects.toThrow('Expected `concurrency` to be an integer >= 1')
    await expect(pool.actor(a.Counter, 1, { node: pool.nodes })).rejects.toMatchObject({ code: 'ERR_SPINDLE_NO_SUCH_NODE' })
    await expect(pool.actors(a.Counter, 1, { node: 0 } as never)).rejects.toThrow('takes no `node` option')
    const counter = await pool.actor(a.Counter, 1)
    expect(() => counter.with({ timeot: 5 } as never)).toThrow('Did you mean "timeout"?')
  })

  it('cancels a call still waiting behind another: it never runs', async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 0)
    const held = counter.hold(probe.path('started'), probe.path('release'))
    await probe.started('started', 1)
    const stopper = new AbortController()
    const cancelled = counter.with({ signal: stopper.signal }).add(100)
    const after = counter.add(1)
    stopper.abort(new Error('not wanted'))
    await expect(cancelled).rejects.toThrow('not wanted')
    probe.release('release')
    expect(await held).toBe('released')
    expect(await after).toBe(1) // the cancelled add(100) never ran
    await expect(counter.with({ signal: AbortSignal.abort(new Error('too late')) }).add(1)).rejects.toThrow('too late')
  })

  it('close() waits for its calls, disposes of the object there, and refuses later calls', async () => {
    const pool = await start(options)
    const file = probe.path('disposed')
    const actor = await pool.actor(a.Disposable, file)
    const pending = actor.ping()
    await actor.close()
    expect(await pending).toBe('pong')
    expect(readFileSync(file, 'utf8')).toBe('disposed')
    await expect(actor.ping()).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    await actor.close() // twice is fine

    const second = probe.path('disposed-by-pool')
    const left = await pool.actor(a.Disposable, second)
    expect(await left.ping()).toBe('pong')
    await pool.close()
    expect(existsSync(second)).toBe(true)
  })

  it.runIf(local)("loses the actor when its worker exits: pending and later calls fail with ActorLostError, others go on", async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 5, { node: 0 })
    const other = await pool.actor(a.Counter, 0, { node: pool.nodes - 1 })
    const dying = counter.die()
    const behind = counter.add(1)
    const error = await dying.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ActorLostError)
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_ACTOR_LOST', actor: expect.stringMatching(/^Counter#\d+$/), node: 0 })
    expect((error as Error).message).toMatch(/Actor Counter#\d+ on node 0 was lost/)
    expect((error as Error).cause).toMatchObject({ code: 'ERR_SPINDLE_WORKER_EXIT' })
    await expect(behind).rejects.toBeInstanceOf(ActorLostError)
    await expect(counter.add(1)).rejects.toBe(error)
    expect(await other.add(2)).toBe(2)
    await counter.close() // nothing left to dispose: resolves
  })

  it.runIf(local)('with `restart`, makes it again with its constructor arguments and says so', async () => {
    const pool = await start(options)
    const events: ActorEvent[] = []
    const counter = await pool.actor(a.Counter, 5, { restart: 1, onEvent: (event) => events.push(event) })
    expect(await counter.add(1)).toBe(6)
    await expect(counter.die()).rejects.toBeInstanceOf(ActorLostError)
    expect(await counter.add(1)).toBe(6) // a fresh Counter(5)
    expect(events).toEqual([expect.objectContaining({ type: 'restarted', actor: expect.stringMatching(/^Counter#/), restartsLeft: 0 })])
    expect(events[0]!.cause).toBeInstanceOf(ActorLostError)
    await expect(counter.die()).rejects.toBeInstanceOf(ActorLostError) // no restarts left
    await expect(counter.add(1)).rejects.toBeInstanceOf(ActorLostError)
  })

  it.runIf(local)('a method past its timeout is stopped with its worker, and the actor is lost, as it says', async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 0)
    const error = await counter.with({ timeout: 100 }).spin(60_000).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_TIMEOUT', timeout: 100 })
    expect((error as Error).message).toMatch(/was stopped with its worker.*the actor is lost/)
    const later = await counter.add(1).catch((e: unknown) => e)
    expect(later).toBeInstanceOf(ActorLostError)
    expect((later as Error).cause).toBe(error)
  })

  it.runIf(!local)('inline: a method past its timeout rejects and runs on; the actor is kept, its next calls after it', async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 0)
    const held = counter.with({ timeout: 20 }).hold(probe.path('started'), probe.path('release'))
    await expect(held).rejects.toThrow(/cannot stop it: it runs on .*, and the actor is kept/)
    const after = counter.add(1)
    probe.release('release')
    expect(await after).toBe(1)
  })

  it.runIf(name === 'process' || name === 'ssh')('loses the actor when its agent process is killed', async () => {
    const pool = await start(options)
    const counter = await pool.actor(a.Counter, 0, { node: 0 })
    const error = await counter.killProcess().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ActorLostError)
    expect(error).toMatchObject({ node: 0 })
    await expect(counter.add(1)).rejects.toBeInstanceOf(ActorLostError)
    if (name === 'process') {
      const again = await pool.actor(a.Counter, 3, { node: 0 }) // the node's replacement agent takes new actors
      expect(await again.add(1)).toBe(4)
    } else {
      // A lost host leaves the pool (no `reconnect`): the other host takes them.
      await expect(pool.actor(a.Counter, 3, { node: 0 })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED' })
      expect(await (await pool.actor(a.Counter, 3, { node: 1 })).add(1)).toBe(4)
    }
  })

  it.runIf(name === 'process' || name === 'ssh')('reaches the one thread its actor lives on, of a node with several', async () => {
    const pool = await start({ ...options, workersPerNode: 2 })
    // Thread 0 busy: the first actor is made on thread 1; then, both idle, the second on thread 0.
    const held = pool.run(tasks.holdUntilFile(probe.path('started'), probe.path('release')), { node: 0 })
    await probe.started('started', 1)
    const first = await pool.actor(a.Counter, 100, { node: 0 })
    probe.release('release')
    await held
    const second = await pool.actor(a.Counter, 200, { node: 0 })
    const workers = [(await first.where()).worker, (await second.where()).worker]
    expect(workers.sort()).toEqual([0, 1])
    const sums = await Promise.all([...Array.from({ length: 50 }, () => first.add(1)), ...Array.from({ length: 50 }, () => second.add(2))])
    expect(sums[49]).toBe(150)
    expect(sums[99]).toBe(300)
  })
})
