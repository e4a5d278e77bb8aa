// The dispatcher with nodes that can be lost (the SSH backend's hosts), on a fake backend: a
// lost node gets no work, its interrupted calls run elsewhere, calls pinned to a node gone for
// good fail with its reason, everything fails once every node is gone, and a node that comes
// back takes its pinned calls again.
import { describe, expect, it } from 'vitest'
import { NodeFailure, type Backend, type BackendNode, type NodeState } from '../../src/backends/backend.js'
import { Dispatcher } from '../../src/dispatch/dispatcher.js'
import { CALL_FIELDS, REQUEST_HEADER, type BatchRequest, type BatchResponse } from '../../src/protocol/messages.js'
import type { CallOptions } from '../../src/task/call-sink.js'

/** A node that holds every batch until told, so a test decides when and how each one ends. */
class FakeNode implements BackendNode {
  readonly slots = 1
  generation = 0
  state: NodeState = 'ready'
  lostBecause: Error | undefined
  readonly held: Array<{ batch: BatchRequest; done: (r: BatchResponse) => void; failed: (f: NodeFailure) => void }> = []
  private listener: (() => void) | undefined
  constructor(readonly index: number) {}
  describe() {
    return `fake ${this.index}`
  }
  watch(listener: () => void) {
    this.listener = listener
  }
  execute(batch: BatchRequest, done: (r: BatchResponse) => void, failed: (f: NodeFailure) => void) {
    this.held.push({ batch, done, failed })
    return () => {}
  }
  /** Answers every held batch: each call's value is its first argument. */
  answer() {
    for (const { batch, done } of this.held.splice(0)) {
      const values: unknown[] = []
      for (let at = REQUEST_HEADER + 2; at < batch.length; at += CALL_FIELDS) values.push((batch[at] as unknown[])[0])
      done([0, undefined, batch[1], ...values])
    }
  }
  /** Lost: out of the rotation first, then what it held is interrupted (as SshNode does). */
  lose(state: 'starting' | 'lost') {
    this.state = state
    if (state === 'lost') this.lostBecause = new Error(`fake ${this.index} is gone for good`)
    this.listener?.()
    for (const { failed } of this.held.splice(0)) failed(new NodeFailure('crash', 'connection lost', { interrupted: true }))
  }
  comeBack() {
    this.state = 'ready'
    this.generation++
    this.listener?.()
  }
}

function setup(count: number) {
  const nodes = Array.from({ length: count }, (_, i) => new FakeNode(i))
  const backend: Backend = { kind: 'ssh', nodes, close: async () => {} }
  const dispatcher = new Dispatcher(backend, { interruptionRetries: 3, output: { stdout: process.stdout, stderr: process.stderr } })
  const call = (value: unknown, options: CallOptions = {}) =>
    new Promise<unknown>((resolve, reject) => dispatcher.submit({ module: 'file:///fake.mjs', name: 'echo' }, [value], options, resolve, reject))
  return { nodes, call }
}

/** Lets the dispatcher hand out what was just submitted (it pumps a microtask after a submit). */
const dispatched = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('dispatcher with nodes that can be lost', () => {
  it('re-runs a lost node\'s calls on the others, and gives the lost node nothing more', async () => {
    const { nodes, call } = setup(2)
    const results = [call('a'), call('b')]
    await dispatched()
    expect(nodes.map((n) => n.held.length)).toEqual([1, 1])
    nodes[0]!.lose('lost')
    expect(nodes[0]!.held).toHaveLength(0)
    nodes[1]!.answer() // 'b'; then the interrupted 'a' is sent to node 1
    expect(nodes[1]!.held).toHaveLength(1)
    nodes[1]!.answer()
    expect(await Promise.all(results)).toEqual(['a', 'b'])
    const later = call('c')
    await dispatched()
    expect(nodes[0]!.held).toHaveLength(0)
    nodes[1]!.answer()
    expect(await later).toBe('c')
  })

  it('fails calls pinned to a node gone for good, with its reason, and new ones at once', async () => {
    const { nodes, call } = setup(2)
    const running = call('x', { node: 0 }) // takes node 0's one slot
    const waiting = call('y', { node: 0 }) // waits in node 0's own queue
    await dispatched()
    expect(nodes[0]!.held).toHaveLength(1)
    nodes[0]!.lose('lost')
    for (const pinned of [running, waiting, call('z', { node: 0 })]) {
      await expect(pinned).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED', message: expect.stringContaining('fake 0 is gone for good') })
    }
  })

  it('fails everything once every node is gone', async () => {
    const { nodes, call } = setup(2)
    const calls = [call(1), call(2), call(3)]
    await dispatched()
    nodes[0]!.lose('lost')
    nodes[1]!.lose('lost')
    for (const c of [...calls, call(4)]) await expect(c).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED' })
  })

  it('keeps calls for a reconnecting node until it is back', async () => {
    const { nodes, call } = setup(1)
    const pinned = call('p', { node: 0 })
    const free = call('q')
    await dispatched()
    nodes[0]!.lose('starting')
    expect(nodes[0]!.held).toHaveLength(0)
    nodes[0]!.comeBack()
    nodes[0]!.answer()
    nodes[0]!.answer()
    expect(await Promise.all([pinned, free])).toEqual(['p', 'q'])
  })
})
