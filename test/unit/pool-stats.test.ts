// compute.stats()'s parts: the sample window's percentiles against a plain sort of every call's
// value, its fixed memory, and the dispatcher's counts and times on a fake backend that answers
// when told, with the ms the test chooses.
import { describe, expect, it } from 'vitest'
import { NodeFailure, type Backend, type BackendNode } from '../../src/backends/backend.js'
import { CALL_FIELDS, REQUEST_HEADER, type BatchRequest, type BatchResponse } from '../../src/protocol/messages.js'
import { Dispatcher } from '../../src/dispatch/dispatcher.js'
import { SampleWindow } from '../../src/dispatch/sample-window.js'
import type { CallOptions } from '../../src/task/call-sink.js'
import { prng } from '../helpers/testing.js'

/** Nearest rank over every call's value, written out one by one. */
function plainPercentile(samples: Array<[value: number, weight: number]>, p: number): number {
  const all = samples.flatMap(([value, weight]) => Array.from({ length: weight }, () => value)).sort((a, b) => a - b)
  return all[Math.max(1, Math.ceil((p * all.length) / 100)) - 1]!
}

describe('SampleWindow', () => {
  it('gives the percentiles of a plain sort of every call, over the newest samples only', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed)
      const capacity = 1 + Math.floor(random() * 20)
      const window = new SampleWindow(capacity)
      const samples: Array<[number, number]> = []
      for (let n = Math.floor(random() * 60); n > 0; n--) {
        const sample: [number, number] = [Math.floor(random() * 8), 1 + Math.floor(random() * 5)] // repeats: some merge
        window.add(...sample)
        const last = samples[samples.length - 1]
        if (last !== undefined && last[0] === sample[0]) last[1] += sample[1]
        else samples.push(sample)
      }
      const kept = samples.slice(-capacity)
      const got = window.percentiles()
      if (kept.length === 0) {
        expect(got).toBeUndefined()
        continue
      }
      const want = {
        p50: plainPercentile(kept, 50),
        p90: plainPercentile(kept, 90),
        p99: plainPercentile(kept, 99),
        max: Math.max(...kept.map(([v]) => v)),
        count: kept.reduce((sum, [, w]) => sum + w, 0),
      }
      expect(got, `seed ${seed}`).toEqual(want)
    }
  })

  it('p90 of ten calls is the ninth: the rank is computed in integers', () => {
    const window = new SampleWindow()
    for (let i = 1; i <= 10; i++) window.add(i, 1)
    expect(window.percentiles()).toEqual({ p50: 5, p90: 9, p99: 10, max: 10, count: 10 })
  })
})

type Held = { batch: BatchRequest; done: (r: BatchResponse) => void; failed: (f: NodeFailure) => void }

/** A node that holds every batch until the test answers it, with the ms it says; a batch it holds can be taken back. */
class HeldNode implements BackendNode {
  generation = 0
  readonly held: Held[] = []
  constructor(
    readonly index: number,
    readonly slots = 1,
  ) {}
  describe() {
    return `held ${this.index}`
  }
  execute(batch: BatchRequest, done: (r: BatchResponse) => void, failed: (f: NodeFailure) => void) {
    const held = { batch, done, failed }
    this.held.push(held)
    return () => {
      if (!this.held.includes(held)) return
      this.held.splice(this.held.indexOf(held), 1)
      failed(new NodeFailure('revoked', 'taken back before it started'))
    }
  }
  /** Answers the oldest batch: each call's value is its first argument, or an error for 'throw'. */
  answer(ms: number) {
    const { batch, done } = this.held.shift()!
    const values: unknown[] = []
    const errors: Array<[number, never]> = []
    for (let at = REQUEST_HEADER + 2, i = 0; at < batch.length; at += CALL_FIELDS, i++) {
      const value = (batch[at] as unknown[])[0]
      if (value === 'throw') errors.push([i, { t: 'value', v: 'thrown' } as never])
      values.push(value)
    }
    done([ms, errors.length > 0 ? errors : undefined, batch[1], ...values])
  }
}

function setup(count: number, interruptionRetries = 3, slots = 1) {
  const nodes = Array.from({ length: count }, (_, i) => new HeldNode(i, slots))
  const backend: Backend = { kind: 'thread', nodes, close: async () => {} }
  const dispatcher = new Dispatcher(backend, { interruptionRetries, output: { stdout: process.stdout, stderr: process.stderr } })
  const call = (value: unknown, options: CallOptions = {}) =>
    new Promise<unknown>((resolve, reject) => dispatcher.submit({ module: 'file:///fake.mjs', name: 'echo' }, [value], options, resolve, reject))
  return { nodes, dispatcher, call }
}

const dispatched = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('dispatcher stats', () => {
  it('counts queued, running and completed calls, and each node\'s time and calls', async () => {
    const { nodes, dispatcher, call } = setup(2)
    const calls = [call('a', { node: 0 }), call('b', { node: 0 }), call('c', { node: 1 })]
    expect(dispatcher.counts()).toEqual({ queued: 3, running: 0 }) // sent a microtask later
    await dispatched()
    expect(dispatcher.counts()).toEqual({ queued: 1, running: 2 })
    nodes[0]!.answer(4)
    nodes[1]!.answer(10)
    expect(dispatcher.counts()).toEqual({ queued: 0, running: 1 })
    nodes[0]!.answer(1)
    expect(await Promise.all(calls)).toEqual(['a', 'b', 'c'])
    const { stats } = dispatcher
    expect(dispatcher.counts()).toEqual({ queued: 0, running: 0 })
    expect([stats.submitted, stats.completed]).toEqual([3, 3])
    expect([...stats.busy]).toEqual([5, 10])
    expect([...stats.calls]).toEqual([2, 1])
    expect(stats.runTime.percentiles()).toEqual({ p50: 4, p90: 10, p99: 10, max: 10, count: 3 })
    expect(stats.waitTime.percentiles()).toMatchObject({ count: 3 })
    expect(stats.waitTime.percentiles()!.p50).toBeGreaterThanOrEqual(0)
  })

  it('samples each call\'s wait once, at the answer: a batch taken back and sent again is one wait', async () => {
    const { nodes, dispatcher, call } = setup(2, 3, 2)
    const calls = ['a', 'b', 'c'].map((value) => call(value)) // costs unknown: one call per batch
    await dispatched()
    expect(nodes.map((node) => node.held.length)).toEqual([2, 1]) // 'c' sent ahead to node 0
    nodes[1]!.answer(1) // node 1 is idle, nothing is queued: it takes 'c' back from node 0
    expect(nodes.map((node) => node.held.length)).toEqual([1, 1])
    nodes[0]!.answer(1)
    nodes[1]!.answer(1)
    expect(await Promise.all(calls)).toEqual(['a', 'b', 'c'])
    expect(dispatcher.stats.waitTime.percentiles()!.count).toBe(3)
    expect(dispatcher.stats.runTime.percentiles()!.count).toBe(3)
  })

  it('leaves what failed to submitted - completed - queued - running: thrown, cancelled, interrupted, refused at close', async () => {
    const { nodes, dispatcher, call } = setup(1, 0)
    const controller = new AbortController()
    const thrown = call('throw')
    const cancelled = call('x', { signal: controller.signal })
    await dispatched()
    controller.abort(new Error('cancelled'))
    nodes[0]!.answer(1) // 'throw', which rejects; then 'x' was cancelled in the queue
    await expect(thrown).rejects.toBe('thrown')
    await expect(cancelled).rejects.toThrow('cancelled')
    const interrupted = call('y')
    await dispatched()
    nodes[0]!.held.shift()!.failed(new NodeFailure('crash', 'lost', { interrupted: true }))
    await expect(interrupted).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED' })
    const refused = call('z')
    await dispatcher.close(10)
    await expect(refused).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    const { stats } = dispatcher
    expect([stats.submitted, stats.completed]).toEqual([4, 0])
    expect(dispatcher.counts()).toEqual({ queued: 0, running: 0 })
    expect(stats.calls[0]).toBe(1) // only the answered batch ran there
    expect(stats.endedAt).toBeDefined()
    expect(stats.elapsed()).toBe(stats.elapsed()) // stopped at close
  })
})
