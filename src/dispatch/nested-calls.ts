/**
 * Calls that running tasks submit themselves (parallelMap inside a task). While a parent call
 * waits on them its thread is idle in its event loop, so its node is lent one more slot per
 * waiting parent: the pool keeps its threads busy, and never deadlocks when every worker waits
 * on a fan-out. Each worker numbers its own map runs, so their cost keys are made unique per node.
 */
import type { CallOptions } from '../task/call-sink.js'

export class NestedCalls {
  /** Per parent call (by seq): the calls it submitted and still waits for. */
  private readonly waits = new Map<number, number>()
  /** Cost keys of nested calls, per node. */
  private readonly costKeys = new Map<string, number>()

  /** `lend(node, +1)` lends a slot to node `node`; `lend(node, -1)` takes it back. */
  constructor(private readonly lend: (node: number, slots: 1 | -1) => void) {}

  /** A call of `parent`, running on node `from`, is submitted: the options it is queued with. */
  begin(from: number, parent: number, options: CallOptions): CallOptions {
    const waits = this.waits.get(parent) ?? 0
    this.waits.set(parent, waits + 1)
    if (waits === 0) this.lend(from, 1)
    let costKey = options.costKey
    if (costKey !== undefined) {
      const key = `${from}:${costKey}`
      costKey = this.costKeys.get(key) ?? this.costKeys.set(key, -1e9 - this.costKeys.size).get(key)
    }
    return { ...options, costKey, parent }
  }

  /** That call settled. */
  end(from: number, parent: number): void {
    const left = this.waits.get(parent)! - 1
    if (left > 0) return void this.waits.set(parent, left)
    this.waits.delete(parent)
    this.lend(from, -1)
  }
}
