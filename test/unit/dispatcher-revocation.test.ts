// Batches sent ahead and taken back, on a fake backend whose nodes answer revocations when the
// test says (at once as a thread node does, or later as an agent does): a node left idle with
// nothing queued takes back the newest batch waiting on a busy node; a batch that had started
// is asked once and runs on; a batch taken back never uses up an interruption retry; close()
// takes back everything that has not started.
import { describe, expect, it } from 'vitest'
import { NodeFailure, type Backend, type BackendNode, type BatchControl } from '../../src/backends/backend.js'
import { Dispatcher } from '../../src/dispatch/dispatcher.js'
import { CALL_FIELDS, REQUEST_HEADER, type BatchRequest, type BatchResponse } from '../../src/protocol/messages.js'

interface Held {
  batch: BatchRequest
  done: (r: BatchResponse) => void
  failed: (f: NodeFailure) => void
  started: boolean
}

/** Two slots, like a thread node; a batch is taken back only if the test has not started it. */
class FakeNode implements BackendNode {
  readonly slots = 2
  generation = 0
  readonly held: Held[] = []
  /** What the dispatcher asked of each batch: [its first call's value, how]. */
  readonly asked: Array<[unknown, 'revoke' | 'stop']> = []
  /** Answers to a revocation: at once (a thread node) or when `answerRevocations` is called (an agent). */
  revokeLater = false
  private readonly pending: Held[] = []
  constructor(readonly index: number) {}
  describe() {
    return `fake ${this.index}`
  }
  execute(batch: BatchRequest, done: (r: BatchResponse) => void, failed: (f: NodeFailure) => void): BatchControl {
    const held: Held = { batch, done, failed, started: false }
    this.held.push(held)
    return (how) => {
      this.asked.push([(batch[REQUEST_HEADER + 2] as unknown[])[0], how])
      if (held.started || !this.held.includes(held)) return
      if (this.revokeLater) this.pending.push(held)
      else this.takeBack(held)
    }
  }
  answerRevocations() {
    for (const held of this.pending.splice(0)) this.takeBack(held)
  }
  /** Answers batch `i` of those held: each call's value is its first argument. */
  answer(i = 0) {
    const [{ batch, done }] = this.held.splice(i, 1) as [Held]
    const values: unknown[] = []
    for (let at = REQUEST_HEADER + 2; at < batch.length; at += CALL_FIELDS) values.push((batch[at] as unknown[])[0])
    done([0, undefined, batch[1], ...values])
  }
  values(): unknown[] {
    return this.held.map((h) => (h.batch[REQUEST_HEADER + 2] as unknown[])[0])
  }
  private takeBack(held: Held) {
    this.held.splice(this.held.indexOf(held), 1)
    held.failed(new NodeFailure('revoked', 'taken back before it started'))
  }
}

function setup(interruptionRetries = 3) {
  const nodes = [new FakeNode(0), new FakeNode(1)]
  const backend: Backend = { kind: 'thread', nodes, close: async () => {} }
  const dispatcher = new Dispatcher(backend, { interruptionRetries, output: { stdout: process.stdout, stderr: process.stderr } })
  const call = (value: unknown) =>
    new Promise<unknown>((resolve, reject) => dispatcher.submit({ module: 'file:///fake.mjs', name: 'echo' }, [value], {}, resolve, reject))
  return { nodes, dispatcher, call }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('Dispatcher: batches sent ahead', () => {
  it.each([
    ['at once, as a thread node does', false],
    ['later, as an agent does', true],
  ])('a node left idle takes back the newest batch waiting on a busy node (answered %s), without using a retry', async (_how, later) => {
    const { nodes, call } = setup(0)
    const [n0, n1] = nodes as [FakeNode, FakeNode]
    n0.revokeLater = later
    const calls = ['a', 'b', 'c'].map(call) // costs unknown: one call per batch
    await tick()
    expect([n0.values(), n1.values()], 'idlest first, then second slots').toEqual([['a', 'c'], ['b']])
    n0.held[0]!.started = true
    n1.answer()
    await tick()
    expect(n0.asked, 'only the newest batch is asked back, once').toEqual([['c', 'revoke']])
    n0.answerRevocations()
    await tick()
    expect(n1.values(), 'the batch taken back runs on the idle node').toEqual(['c'])
    n1.answer()
    n0.answer()
    expect(await Promise.all(calls)).toEqual(['a', 'b', 'c'])
  })

  it('asks a batch that had started only once, and lets it run on', async () => {
    const { nodes, call } = setup()
    const [n0, n1] = nodes as [FakeNode, FakeNode]
    const calls = ['a', 'b', 'c'].map(call)
    await tick()
    for (const held of n0.held) held.started = true // both run at once (async tasks)
    n1.answer()
    await tick()
    expect(n1.held, 'nothing was taken back for it').toEqual([])
    expect(n0.asked).toEqual([['c', 'revoke']])
    n0.answer()
    n0.answer()
    expect(await Promise.all(calls)).toEqual(['a', 'b', 'c'])
  })

  it('close() takes back every batch that has not started (ERR_SPINDLE_CLOSED) and waits for the others', async () => {
    const { nodes, dispatcher, call } = setup()
    const [n0, n1] = nodes as [FakeNode, FakeNode]
    const calls = ['a', 'b', 'c', 'd'].map((v) => call(v).catch((e: { code: string }) => e.code))
    await tick()
    n0.held[0]!.started = true
    n1.held[0]!.started = true
    const closed = dispatcher.close(60_000)
    await tick()
    n0.answer()
    n1.answer()
    await closed
    expect(await Promise.all(calls)).toEqual(['a', 'b', 'ERR_SPINDLE_CLOSED', 'ERR_SPINDLE_CLOSED'])
  })
})
