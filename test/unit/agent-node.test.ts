// The caller's side of a node agent, written once for process and SSH nodes (AgentNode), on a
// fake link: what each agent message does, which agent's word counts, where answers go back.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AgentNode } from '../../src/backends/agent/agent-node.js'
import { NodeFailure, type BatchControl } from '../../src/backends/backend.js'
import { NO_CLAIM } from '../../src/protocol/claims.js'
import type { BatchRequest, BatchResponse, FromAgent, ToAgent } from '../../src/protocol/messages.js'

class FakeLink {
  readonly sent: ToAgent[] = []
  held = false
}

class FakeNode extends AgentNode<FakeLink> {
  current: FakeLink | undefined = new FakeLink()
  constructor() {
    super(3, 1, 'fake')
  }
  describe(): string {
    return 'fake 3'
  }
  execute(batch: BatchRequest, done: (r: BatchResponse) => void, failed: (f: NodeFailure) => void): BatchControl {
    return this.dispatch(this.current!, batch, done, failed)
  }
  async close(): Promise<void> {}
  protected get link(): FakeLink | undefined {
    return this.current
  }
  protected sendOn(link: FakeLink, message: ToAgent): void {
    link.sent.push(message)
  }
  protected hold(link: FakeLink, busy: boolean): void {
    link.held = busy
  }
  hear(link: FakeLink, message: FromAgent): void {
    this.receive(link, message)
  }
  /** The agent is lost and replaced: what each batch got. */
  replace(): string[] {
    const lost = this.takeLost(new NodeFailure('crash', 'agent lost', { interrupted: true }))
    this.current = new FakeLink()
    this.generation++
    return lost.map(([entry, why]) => (entry.failed(why), why.reason))
  }
}

const batch = (id: number): BatchRequest => [undefined, id, NO_CLAIM, undefined, undefined, 1, 1, []]
const answer = (id: number): BatchResponse => [0, undefined, id, 'value']

describe('AgentNode', () => {
  afterEach(() => vi.restoreAllMocks())

  it('settles a batch once, on its answer, and holds the link open only while batches are out', () => {
    const node = new FakeNode()
    const link = node.current!
    const done = vi.fn()
    node.execute(batch(1), done, () => {})
    expect(link.sent).toEqual([batch(1)])
    expect(link.held).toBe(true)
    node.hear(link, { done: answer(1) })
    node.hear(link, { done: answer(1) })
    expect(done.mock.calls).toEqual([[answer(1)]])
    expect(link.held).toBe(false)
  })

  it("a batch's control is a message on the link it went out on", () => {
    const node = new FakeNode()
    const first = node.current!
    const control = node.execute(batch(1), () => {}, () => {})
    node.replace()
    control('stop')
    control('revoke')
    expect(first.sent.slice(1)).toEqual([{ stop: 1 }, { revoke: 1 }])
    expect(node.current!.sent).toEqual([])
  })

  it("only the current agent's word that a batch began counts: an agent lost goes back free otherwise", () => {
    const node = new FakeNode()
    const old = node.current!
    node.execute(batch(1), () => {}, () => {})
    expect(node.replace()).toEqual(['revoked'])
    node.execute(batch(2), () => {}, () => {})
    node.execute(batch(3), () => {}, () => {})
    node.hear(old, { started: [2] }) // a replaced agent's late word
    node.hear(node.current!, { started: [3] })
    expect(node.replace()).toEqual(['revoked', 'crash'])
  })

  it("answers a task's nested call on the link it came from, and fails a batch as the agent flattened it", async () => {
    const node = new FakeNode()
    const link = node.current!
    const handler = vi.fn(async () => 42)
    node.serveNested(handler)
    node.hear(link, { submit: 7, parent: 5, task: ['file:///t.js', 'f'], args: [1], timeout: undefined, costKey: undefined })
    node.replace()
    await handler.mock.results[0]!.value // the reply was sent as it settled, before this resumes
    expect(link.sent).toEqual([{ reply: 7, ok: true, value: 42 }])
    expect(handler).toHaveBeenCalledWith(5, { module: 'file:///t.js', name: 'f' }, [1], { timeout: undefined, costKey: undefined })

    const failed = vi.fn()
    node.execute(batch(9), () => {}, failed)
    node.hear(node.current!, { failed: 9, failure: { reason: 'crash', message: 'thread died', exitCode: 1, crash: undefined, interrupted: false, cause: undefined, rescue: undefined } })
    expect(failed.mock.calls[0]![0]).toMatchObject({ reason: 'crash', message: 'thread died', details: { exitCode: 1 } })
  })

  it('prints lines with its own prefix until the dispatcher serves output, and reports a ready agent', () => {
    const node = new FakeNode()
    const link = node.current!
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    node.hear(link, { output: [4, 2, 'oops'] })
    expect(write).toHaveBeenCalledWith('[fake 3] oops\n')
    const lines = vi.fn()
    node.serveOutput(lines)
    node.hear(link, { output: [4, 1, 'hello'] })
    expect(lines).toHaveBeenCalledWith(4, 1, 'hello')
    const events = vi.fn()
    node.serveLifecycle(events)
    node.hear(new FakeLink(), { ready: true, pid: 1 }) // not this node's agent
    node.hear(link, { ready: true, pid: 2 })
    expect(events.mock.calls).toEqual([[{ type: 'ready', pid: 2 }]])
  })
})
