// Node events from nodes' reports (compute/node-events.ts), on fake nodes: which public event
// each report becomes, the state and loss count stats() shows, delivery a microtask later,
// listeners that throw, nothing after close, EventEmitter's own helpers, misspelt event names.
import { EventEmitter, once } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { Backend, BackendNode, NodeLifecycle } from '../../src/backends/backend.js'
import { NodeWatch, type NodeEvent } from '../../src/compute/node-events.js'
import { caught } from '../helpers/testing.js'

class ReportingNode implements BackendNode {
  readonly slots = 1
  generation = 0
  report: (event: NodeLifecycle) => void = () => {}
  constructor(readonly index: number) {}
  describe() {
    return `fake ${this.index}`
  }
  serveLifecycle(handler: (event: NodeLifecycle) => void) {
    this.report = handler
  }
  execute(): () => void {
    throw new Error('not used')
  }
}

function setup(kind: Backend['kind'] = 'process') {
  const nodes = [new ReportingNode(0), new ReportingNode(1)]
  const emitter = new EventEmitter()
  const watch = new NodeWatch({ kind, nodes, close: async () => {} }, emitter, Date.now())
  const events: NodeEvent[] = []
  emitter.on('node', (event: NodeEvent) => events.push(event))
  return { nodes, emitter, watch, events }
}

const delivered = () => new Promise<void>((resolve) => setImmediate(resolve))
const crash = (next: 'replace' | 'reconnect' | 'none', reason: 'crash' | 'connection' | 'start' = 'crash'): NodeLifecycle => ({
  type: 'lost',
  reason,
  cause: new Error(`${reason}, then ${next}`),
  next,
})

describe('NodeWatch', () => {
  it('turns reports into up, lost and replaced, with the node, the backend, the pid and the host', async () => {
    const { nodes, watch, events } = setup()
    expect(watch.states).toEqual(['starting', 'starting'])
    nodes[0]!.report({ type: 'ready', pid: 10 })
    expect(events).toEqual([]) // delivered a microtask later, never inside the backend's handler
    expect(watch.states).toEqual(['up', 'starting'])
    nodes[0]!.report({ ...crash('replace'), exitCode: null, signal: 'SIGKILL', pid: 10 } as NodeLifecycle)
    expect(watch.states[0]).toBe('replacing')
    nodes[0]!.report({ type: 'ready', pid: 11 })
    await delivered()
    expect(events).toEqual([
      { type: 'up', node: 0, backend: 'process', pid: 10 },
      { type: 'lost', node: 0, backend: 'process', pid: 10, reason: 'crash', cause: expect.any(Error), next: 'replace', exitCode: null, signal: 'SIGKILL' },
      { type: 'replaced', node: 0, backend: 'process', pid: 11 },
    ])
    expect(watch.losses).toEqual([1, 0])
  })

  it('an SSH host that reconnects is up again; one that gives up is gone, lost once', async () => {
    const { nodes, watch, events } = setup('ssh')
    nodes[1]!.report({ type: 'ready', host: 'b' })
    nodes[1]!.report({ ...crash('reconnect', 'connection'), host: 'b' } as NodeLifecycle)
    expect(watch.states[1]).toBe('reconnecting')
    nodes[1]!.report({ type: 'ready', host: 'b' })
    nodes[1]!.report({ ...crash('reconnect', 'connection'), host: 'b' } as NodeLifecycle)
    nodes[1]!.report({ ...crash('none', 'connection'), host: 'b' } as NodeLifecycle)
    await delivered()
    expect(events.map((e) => [e.type, e.type === 'lost' ? e.next : '', e.host])).toEqual([
      ['up', '', 'b'],
      ['lost', 'reconnect', 'b'],
      ['up', '', 'b'],
      ['lost', 'reconnect', 'b'],
      ['lost', 'none', 'b'],
    ])
    expect(watch.states[1]).toBe('gone')
    expect(watch.losses[1]).toBe(2) // giving up after a loss is not another loss
  })

  it('a node that cannot start is gone; a node with no reports (inline) is up', () => {
    const { nodes, watch } = setup('thread')
    nodes[0]!.report(crash('none', 'start'))
    expect(watch.states[0]).toBe('gone')
    const inline = new NodeWatch({ kind: 'inline', nodes: [{ index: 0, slots: 1, generation: 0, describe: () => 'inline', execute: () => () => {} }], close: async () => {} }, new EventEmitter(), Date.now())
    expect(inline.states).toEqual(['up'])
  })

  it('after close: every node is closed, and nothing more is reported', async () => {
    const { nodes, watch, events } = setup()
    watch.close()
    nodes[0]!.report(crash('replace'))
    await delivered()
    expect(events).toEqual([])
    expect(watch.states).toEqual(['closed', 'closed'])
    expect(watch.losses).toEqual([0, 0])
  })

  it('a listener that throws, or whose promise rejects, is a warning; the others still hear the event', async () => {
    const { nodes, emitter, events } = setup()
    const warnings: string[] = []
    const onWarning = (w: Error & { code?: string }) => w.code === 'SPINDLE_LISTENER_ERROR' && warnings.push(w.message)
    process.on('warning', onWarning)
    try {
      emitter.prependListener('node', () => {
        throw new TypeError('bad listener')
      })
      emitter.prependListener('node', () => Promise.reject('rejected'))
      nodes[0]!.report({ type: 'ready' })
      await delivered()
      await delivered() // the rejection's warning, and process.emitWarning's own tick
      expect(events).toHaveLength(1)
      expect(warnings.sort()).toEqual([
        "A 'node' event listener threw TypeError: bad listener (event 'up' of node 0). The pool goes on, and the other listeners were called; catch errors inside the listener.",
        "A 'node' event listener threw the value rejected (event 'up' of node 0). The pool goes on, and the other listeners were called; catch errors inside the listener.",
      ])
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('works with events.once() and once listeners, and refuses a misspelt event with a did-you-mean', async () => {
    const { nodes, emitter } = setup()
    const next = once(emitter, 'node')
    let heard = 0
    emitter.once('node', () => heard++)
    nodes[0]!.report({ type: 'ready' })
    nodes[1]!.report({ type: 'ready' })
    expect(await next).toEqual([{ type: 'up', node: 0, backend: 'process' }])
    await delivered()
    expect(heard).toBe(1)
    expect(caught(() => emitter.on('nodes', () => {}))).toMatchObject({
      code: 'ERR_SPINDLE_INVALID_OPTION',
      message: 'Unknown event "nodes" for compute.on(). Did you mean "node"?',
    })
    expect(caught(() => emitter.once('stats', () => {})).message).toBe('Unknown event "stats" for compute.on(). A Compute emits "node".')
    expect(emitter.listenerCount('nodes')).toBe(0)
  })
})
