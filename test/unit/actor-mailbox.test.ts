// An actor's mailbox (actors/link.ts) on a fake pool: calls made together go in one pool call,
// one more is sent ahead and no further until one answers, pool calls are pinned and solo,
// outcomes reach the callers in order, and a loss fails the calls sent, queued and later ones
// with one ActorLostError without sending anything more.
import { describe, expect, it } from 'vitest'
import { ActorLink } from '../../src/actors/link.js'
import { ActorLostError, WorkerExitError } from '../../src/errors.js'
import type { CallOptions, CallSink } from '../../src/task/call-sink.js'
import { encodeThrown } from '../../src/protocol/error-codec.js'
import type { TaskRef } from '../../src/task/pending.js'

interface Submitted {
  task: TaskRef
  args: readonly unknown[]
  options: CallOptions
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

function fakePool(): { pool: CallSink; submitted: Submitted[] } {
  const submitted: Submitted[] = []
  const pool: CallSink = {
    nodes: 2,
    sharedMemory: true,
    submit: (task, args, options) => new Promise((resolve, reject) => submitted.push({ task, args, options, resolve, reject })),
  }
  return { pool, submitted }
}

function link(pool: CallSink, concurrency = 1): ActorLink {
  const setup = { pool, task: { module: 'file:///x.js', name: 'Counter' }, args: [], label: 'Counter#1', concurrency, restart: 0, onEvent: undefined, stopsOnTimeout: true }
  return new ActorLink(setup, { id: 7, node: 1, worker: 0 })
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** The calls a pool call carries: its flat wire as [type, path, args] triples. */
const callsOf = (s: Submitted) => {
  const wires = s.args[2] as unknown[]
  return Array.from({ length: wires.length / 3 }, (_, i) => wires.slice(3 * i, 3 * i + 3))
}

describe('actor mailbox', () => {
  it('sends calls made together in one pool call, one more ahead, and no further until one answers', async () => {
    const { pool, submitted } = fakePool()
    const actor = link(pool)
    const results = Array.from({ length: 1500 }, (_, i) => actor.call('APPLY', ['add'], [i]))
    await tick()
    expect(submitted.map((s) => callsOf(s).length)).toEqual([1024, 476])
    expect(submitted[0]!.task.name).toBe('callActor')
    expect(submitted[0]!.args.slice(0, 2)).toEqual([7, 0])
    expect(submitted[0]!.options).toMatchObject({ node: 1, solo: true, label: 'Counter#1 ×1024' })
    expect(callsOf(submitted[0]!)[5]).toEqual(['APPLY', ['add'], [5]])

    const failed = expect(results[3]).rejects.toThrow(RangeError)
    const later = actor.call('APPLY', ['add'], [-1])
    await tick()
    expect(submitted).toHaveLength(2) // two out: the third waits
    submitted[0]!.resolve([Array.from({ length: 1024 }, (_, i) => i * 10), [[3, encodeThrown(new RangeError('boom'))]]])
    await tick()
    expect(submitted).toHaveLength(3)
    expect(callsOf(submitted[2]!)).toEqual([['APPLY', ['add'], [-1]]])
    expect(submitted[2]!.options.label).toBe('Counter#1.add')
    expect(await results[2]).toBe(20)
    await failed
    submitted[1]!.resolve([Array.from({ length: 476 }, () => 1), undefined])
    submitted[2]!.resolve([[42], undefined])
    expect(await results[1499]).toBe(1)
    expect(await later).toBe(42)
  })

  it('on a loss fails the calls sent and queued, and later ones, with one ActorLostError, sending nothing more', async () => {
    const { pool, submitted } = fakePool()
    const actor = link(pool)
    const first = actor.call('APPLY', ['die'], [])
    await tick()
    const second = actor.call('APPLY', ['add'], [1])
    await tick()
    const queued = actor.call('APPLY', ['add'], [2])
    expect(submitted).toHaveLength(2)
    const exit = new WorkerExitError('Worker 1 (thread) running task callActor exited with code 3', { backend: 'thread', node: 1, task: 'callActor', exitCode: 3 })
    submitted[0]!.reject(exit)
    const lost = await first.catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(ActorLostError)
    expect(lost).toMatchObject({ actor: 'Counter#1', node: 1, cause: exit })
    expect((lost as Error).message).toMatch(/^Actor Counter#1 on node 1 was lost: Worker 1 \(thread\) .* exited with code 3 Its state is gone/)
    await expect(queued).rejects.toBe(lost)
    await expect(actor.call('APPLY', ['add'], [3])).rejects.toBe(lost)
    submitted[1]!.reject(exit) // the call sent ahead fails too, and changes nothing
    await expect(second).rejects.toBeInstanceOf(ActorLostError)
    await tick()
    expect(submitted).toHaveLength(2)
    await actor.close() // nothing left to dispose: no close call is sent
    expect(submitted).toHaveLength(2)
  })
})
