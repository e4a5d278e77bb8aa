// A backend whose nodes join and leave while the pool runs, as workers that dial in would: each
// node is a real worker thread (the thread backend's ThreadNode), so tasks run for real, and the
// test decides when a node joins or leaves. Each node records any batch it is sent once it has
// started to leave: the dispatcher must send none.
import { randomUUID } from 'node:crypto'
import type { Backend, BackendNode, BatchControl, NodeFailure, NodeLifecycle, NodeState } from '../../dist/backends/backend.js'
import { ThreadNode } from '../../dist/backends/thread/thread-node.js'
import type { BatchRequest, BatchResponse } from '../../dist/protocol/messages.js'
import { Compute, fromBackend } from '../../dist/compute/compute.js'

/** A worker thread that can be told to leave: it drains, then reports `left` and closes. */
export class LeavingNode implements BackendNode {
  state: NodeState = 'ready'
  /** Batches it was sent after it began to leave (there must be none). */
  readonly sentAfterLeaving: number[] = []
  private readonly inner: ThreadNode
  private listener: (() => void) | undefined
  private lifecycle: ((event: NodeLifecycle) => void) | undefined
  private inFlight = 0
  private closing: Promise<void> | undefined
  private leftResolve: (() => void) | undefined
  /** Settles once the node has left (drained and closed). */
  readonly left = new Promise<void>((resolve) => (this.leftResolve = resolve))

  constructor(
    readonly index: number,
    totalNodes: number,
    jobId: string,
  ) {
    const peers = Array.from({ length: totalNodes }, (_, i) => `fake-${i}`)
    const info = { node: index, rank: index, totalNodes, worker: 0, workersPerNode: 1, isHead: index === 0, peers, jobId, backend: 'thread' as const }
    this.inner = new ThreadNode(index, info, {})
  }

  get slots(): number {
    return this.inner.slots
  }
  get generation(): number {
    return this.inner.generation
  }
  get peer(): string {
    return `fake-${this.index}`
  }
  describe(): string {
    return `fake node ${this.index}`
  }
  watch(listener: () => void): void {
    this.listener = listener
  }
  serveLifecycle(handler: (event: NodeLifecycle) => void): void {
    this.lifecycle = handler
    this.inner.serveLifecycle(handler)
  }
  serveNested(handler: Parameters<ThreadNode['serveNested']>[0]): void {
    this.inner.serveNested(handler)
  }
  serveOutput(handler: Parameters<ThreadNode['serveOutput']>[0]): void {
    this.inner.serveOutput(handler)
  }
  servePartial(handler: Parameters<ThreadNode['servePartial']>[0]): void {
    this.inner.servePartial(handler)
  }

  execute(batch: BatchRequest, done: (r: BatchResponse) => void, failed: (f: NodeFailure) => void): BatchControl {
    if (this.state !== 'ready') this.sentAfterLeaving.push(batch[1])
    this.inFlight++
    const end = () => {
      this.inFlight--
      if (this.state === 'draining' && this.inFlight === 0) queueMicrotask(() => void this.finishLeaving())
    }
    return this.inner.execute(
      batch,
      (response) => (end(), done(response)),
      (failure) => (end(), failed(failure)),
    )
  }

  /** Leaves: takes nothing new (the dispatcher asks back what waits here), then closes once idle. */
  leave(): Promise<void> {
    if (this.state !== 'ready') return this.left
    this.state = 'draining'
    this.listener?.()
    if (this.inFlight === 0) queueMicrotask(() => void this.finishLeaving())
    return this.left
  }

  private async finishLeaving(): Promise<void> {
    if (this.state !== 'draining') return
    this.state = 'closed'
    this.lifecycle?.({ type: 'left' })
    this.listener?.()
    await this.close()
    this.leftResolve?.()
  }

  close(): Promise<void> {
    this.closing ??= this.inner.close()
    return this.closing
  }
}

/** The backend: `start` nodes at first; `join()` adds one, `nodes[i].leave()` removes one. */
export class JoiningBackend implements Backend {
  readonly kind = 'thread' as const
  readonly nodes: LeavingNode[] = []
  private readonly jobId = randomUUID()
  private joined: ((node: BackendNode) => void) | undefined

  constructor(start: number) {
    for (let i = 0; i < start; i++) this.nodes.push(new LeavingNode(i, start, this.jobId))
  }

  serveJoin(handler: (node: BackendNode) => void): void {
    this.joined = handler
  }

  /** A new node, told to the dispatcher: it takes work at once. */
  join(): LeavingNode {
    const node = new LeavingNode(this.nodes.length, this.nodes.length + 1, this.jobId)
    this.nodes.push(node)
    this.joined?.(node)
    return node
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.close()))
  }
}

/** A pool on a JoiningBackend of `start` nodes. */
export function startJoiningPool(start: number): { pool: Compute; backend: JoiningBackend } {
  const backend = new JoiningBackend(start)
  return { pool: Compute[fromBackend](backend), backend }
}
