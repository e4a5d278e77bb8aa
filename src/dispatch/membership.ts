/**
 * Who is in the pool now. Nodes join (a backend with `serveJoin`) and leave (draining, then
 * closed) while it runs; an index is never reused, so per-node state stays indexed by it, and
 * the members are the nodes not draining or closed, in index order (backend.ts, NodeState). A
 * member's rank is its position among them: what `instanceInfo().totalNodes` counts and
 * `shard()` divides by, what `broadcast` reaches. Tasks learn of a change with their node's next
 * batch (`MembersUpdate` in its header, once per node per change): on a fixed list of nodes
 * nothing ever travels, since every node was told its place when it started.
 */
import { isMember, type Backend, type BackendNode } from '../backends/backend.js'
import type { BatchRequest, MembersUpdate } from '../protocol/messages.js'

export class Membership {
  /** Bumped when the list of members changes; a node's last update is stamped with it. */
  private version = 0
  private members: readonly BackendNode[]
  /** Per node, by index: the version of the last update it was sent (0: what it started with). */
  private readonly told: number[] = []

  constructor(private readonly backend: Backend) {
    this.members = this.current()
    // Nodes that dial in were told a place as they joined, before the pool knew them all.
    if (backend.serveJoin !== undefined) for (const node of backend.nodes) this.told[node.index] = -1
  }

  /** The nodes that take part, in index order. */
  get list(): readonly BackendNode[] {
    return this.members
  }

  get size(): number {
    return this.members.length
  }

  /** A node joined: unlike those there at the start, it must be told its place. */
  joined(node: BackendNode): void {
    this.told[node.index] = -1
    this.refresh()
  }

  /** A node's state changed: the list is read again, and bumped only if it differs. */
  refresh(): void {
    const now = this.current()
    if (now.length === this.members.length && now.every((node, i) => node === this.members[i])) return
    this.members = now
    this.version++
  }

  /** What `node`'s next batch carries: its place among the members if that changed since it was told; else undefined. */
  updateFor(node: BackendNode): MembersUpdate | undefined {
    if ((this.told[node.index] ?? 0) === this.version) return undefined
    const rank = this.members.indexOf(node)
    if (rank === -1) return undefined // leaving: its last tasks keep the place they had
    this.told[node.index] = this.version
    return [rank, this.members.length, this.members.map((n) => n.peer ?? n.describe())]
  }

  /** A request that could not be sent: if it carried `node`'s new place, the node was not told. */
  unsent(node: BackendNode, request: BatchRequest): void {
    if (request[4] !== undefined) this.told[node.index] = -1
  }

  private current(): BackendNode[] {
    return this.backend.nodes.filter((node) => isMember(node.state ?? 'ready'))
  }
}
