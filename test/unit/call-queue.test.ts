// The dispatcher's waiting calls (src/dispatch/call-queue.ts): a node takes its pinned calls
// before the shared queue, batches stop at a call that must go alone, a call with a deadline goes
// only to an idle node, cancelled calls are skipped and never counted, and draining a node takes
// only what is pinned to it.
import { describe, expect, it } from 'vitest'
import { Call } from '../../src/dispatch/call.js'
import type { CallOptions } from '../../src/task/call-sink.js'
import { CallQueue } from '../../src/dispatch/call-queue.js'

let seq = 0
const call = (options: CallOptions = {}): Call => new Call(++seq, { module: 'file:///t.mjs', name: 't' }, 1, [], options, () => {}, () => {})
const seqs = (calls: Call[] | undefined) => calls?.map((c) => c.seq)
const all = () => 1024

describe('CallQueue', () => {
  it('gives a node its pinned calls first, then the shared queue, in order, up to the batch size', () => {
    const queue = new CallQueue(2)
    const [a, b, c, p, q] = [call(), call(), call(), call({ node: 1 }), call({ node: 1 })]
    for (const x of [a, b, c, p, q]) queue.add(x)
    expect(queue.size).toBe(5)
    expect(seqs(queue.take(0, true, () => 2)), 'node 0 never takes what is pinned to node 1; two at most').toEqual([a.seq, b.seq])
    expect(seqs(queue.take(1, true, all)), 'pinned first, then the shared queue').toEqual([p.seq, q.seq, c.seq])
    expect(queue.take(0, true, all)).toBeUndefined()
    expect(queue.size).toBe(0)
  })

  it('puts calls back at the front, and sizes the batch by the calls waiting with its head', () => {
    const queue = new CallQueue(1)
    const [a, b, c] = [call(), call(), call()]
    queue.add(a)
    queue.add(b)
    queue.add(c, true)
    let waiting = -1
    expect(seqs(queue.take(0, true, (_head, n) => ((waiting = n), 3)))).toEqual([c.seq, a.seq, b.seq])
    expect(waiting).toBe(3)
  })

  it('sends a call with a deadline alone and only to an idle node; a solo call alone too', () => {
    const queue = new CallQueue(1)
    const timed = call({ timeout: 100 })
    const [x, y] = [call(), call()]
    const solo = call()
    solo.solo = true
    for (const c of [timed, x, solo, y]) queue.add(c)
    expect(queue.take(0, false, all), 'a busy node waits: the deadline counts from the start').toBeUndefined()
    expect(seqs(queue.take(0, true, all))).toEqual([timed.seq])
    expect(seqs(queue.take(0, false, all)), 'a batch ends before a solo call').toEqual([x.seq])
    expect(seqs(queue.take(0, false, all))).toEqual([solo.seq])
    expect(seqs(queue.take(0, false, all))).toEqual([y.seq])
  })

  it('skips cancelled calls, which leave the count when cancelled; drains a node or everything', () => {
    const queue = new CallQueue(2)
    const [a, b, p, q] = [call(), call(), call({ node: 0 }), call({ node: 1 })]
    for (const c of [a, b, p, q]) queue.add(c)
    a.reject(new Error('cancelled'))
    queue.forget()
    expect(queue.size).toBe(3)
    expect(seqs(queue.drain(1)), 'only what is pinned to node 1').toEqual([q.seq])
    expect(queue.size).toBe(2)
    expect(seqs(queue.drain())).toEqual([b.seq, p.seq])
    expect(queue.size).toBe(0)
    expect(queue.take(0, true, all)).toBeUndefined()
  })
})
