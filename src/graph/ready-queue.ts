/**
 * A binary min-heap (the item that `compare` puts first comes out first) and the ready-queue
 * order of the ParallelExecutor. Written by hand, and property-tested against Array#sort with the
 * same comparator, because p-graph's heap is known to pop out of order.
 */

/** An array-backed binary heap: O(log n) push and pop, O(1) peek. Not stable: break ties in `compare`. */
export class BinaryHeap<T> {
  private readonly items: T[] = []
  private readonly compare: (a: T, b: T) => number

  /** `compare(a, b) < 0` when `a` must come out before `b`. */
  constructor(compare: (a: T, b: T) => number) {
    this.compare = compare
  }

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    // Sift up by moving parents down into the hole, then write the item once.
    let hole = items.length
    items.push(item)
    while (hole > 0) {
      const parent = (hole - 1) >> 1
      const above = items[parent]!
      if (this.compare(item, above) >= 0) break
      items[hole] = above
      hole = parent
    }
    items[hole] = item
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    // Sift the last item down from the root, moving the better child up into the hole.
    const n = items.length
    let hole = 0
    for (;;) {
      let child = 2 * hole + 1
      if (child >= n) break
      const right = child + 1
      if (right < n && this.compare(items[right]!, items[child]!) < 0) child = right
      const below = items[child]!
      if (this.compare(below, last) >= 0) break
      items[hole] = below
      hole = child
    }
    items[hole] = last
    return top
  }

  clear(): void {
    this.items.length = 0
  }
}

/** What the ready queue orders a step by. */
export interface ReadyKeys {
  /** The user's priority: higher first. */
  readonly priority: number
  /** Longest remaining path to a sink, by estimated cost: higher first (the critical path goes first). */
  readonly bottomLevel: number
  /** When the step became ready, as a counter of events: later first (its inputs are still warm). */
  readonly readiedAt: number
  /** Definition order: earlier first, so every tie is broken and the order is total. */
  readonly insertion: number
}

/** The ParallelExecutor's order: priority, then bottom level, then most recently readied, then insertion. */
export function compareReady(a: ReadyKeys, b: ReadyKeys): number {
  if (a.priority !== b.priority) return b.priority - a.priority
  if (a.bottomLevel !== b.bottomLevel) return b.bottomLevel - a.bottomLevel
  if (a.readiedAt !== b.readiedAt) return b.readiedAt - a.readiedAt
  return a.insertion - b.insertion
}

/** A heap of ready steps in `compareReady` order. */
export class ReadyQueue<T extends ReadyKeys = ReadyKeys> extends BinaryHeap<T> {
  constructor() {
    super(compareReady)
  }
}
