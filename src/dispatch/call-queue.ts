/**
 * The calls waiting for a node, in the order they go out: one shared queue that any node takes
 * from, and per node the calls pinned to it (a typed map's call per worker), which that node
 * takes first. A cancelled call leaves the count at once and its entry when the queue reaches it.
 */
import type { Call } from './call.js'
import { Deque } from '../deque.js'

export class CallQueue {
  private readonly shared = new Deque<Call>()
  private readonly pinned: Deque<Call>[] = []
  /** Calls waiting, cancelled ones excepted. */
  size = 0

  /** `nodes`: those there from the start (more may join: addNode). */
  constructor(nodes = 0) {
    for (let i = 0; i < nodes; i++) this.addNode(i)
  }

  /** Node `index` joined: calls may be pinned to it. */
  addNode(index: number): void {
    this.pinned[index] = new Deque<Call>()
  }

  /** Queues a call at the back (or at the front: nested calls, calls put back after an interruption). */
  add(call: Call, front = false): void {
    const deque = this.dequeOf(call)
    if (front) deque.unshift(call)
    else deque.push(call)
    this.size++
  }

  /** A queued call was cancelled: it no longer counts, and is skipped when reached. */
  forget(): void {
    this.size--
  }

  /** Takes out every waiting call: all of them, or only those pinned to node `index`. */
  drain(index?: number): Call[] {
    const deques = index === undefined ? [this.shared, ...this.pinned] : [this.pinned[index]!]
    const calls = deques.flatMap((deque) => deque.drain()).filter((call) => !call.settled)
    this.size -= calls.length
    return calls
  }

  /**
   * The next batch for node `index`: its pinned calls first, then the shared queue. At most
   * `sizeFor(head)` calls; a call with a deadline goes alone, and only to a node with nothing in
   * flight (`idle`), where it starts the moment it arrives; a solo call goes alone too.
   */
  take(index: number, idle: boolean, sizeFor: (head: Call, waiting: number) => number): Call[] | undefined {
    const pinned = this.pinned[index]!
    const peeked = nextLive(pinned, true) ?? nextLive(this.shared, true)
    if (peeked === undefined) return undefined
    if (peeked.options.timeout !== undefined && !idle) return undefined
    const head = nextLive(pinned) ?? nextLive(this.shared)!
    this.size--
    const calls = [head]
    if (head.options.timeout !== undefined || head.solo) return calls
    const size = sizeFor(head, this.size + 1)
    while (calls.length < size) {
      const source = nextLive(pinned, true) !== undefined ? pinned : this.shared
      const next = nextLive(source, true)
      if (next === undefined || next.options.timeout !== undefined || next.solo) break
      source.shift()
      this.size--
      calls.push(next)
    }
    return calls
  }

  private dequeOf(call: Call): Deque<Call> {
    const node = call.options.node
    return node !== undefined ? this.pinned[node]! : this.shared
  }
}

/** The first call of a deque that is still waiting, dropping cancelled ones on the way. */
function nextLive(deque: Deque<Call>, peek = false): Call | undefined {
  for (let call = deque.peek(); call !== undefined; call = deque.peek()) {
    if (!call.settled) return peek ? call : deque.shift()
    deque.shift()
  }
  return undefined
}
