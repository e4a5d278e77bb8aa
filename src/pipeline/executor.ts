/**
 * ParallelExecutor (flowyml's `ParallelExecutor(max_workers, backend)`): how many steps run at
 * once, and on which pool. It starts a pool per run (or borrows the Compute it was given).
 */
import { availableParallelism } from 'node:os'
import { Compute, stepRunner } from '../compute/compute.js'
import type { CallObserver } from '../dispatch/call.js'
import { checkInteger, checkKnownKeys, checkOneOf } from '../options.js'
import { LOCAL_KINDS, localNodes, oneCallPerNode, type LocalKind } from '../backends/registry.js'
import { SCHEDULING_POLICIES, type SchedulingPolicy } from '../graph/list-scheduler.js'

export interface ParallelExecutorOptions {
  /** Steps running at once (and the pool's threads, when the executor starts the pool). @default availableParallelism() (1 inline, which runs one call at a time; a Compute's nodes) */
  maxWorkers?: number
  /**
   * `'thread'`, `'process'` (one process per worker: a step that crashes or runs out of memory
   * takes only its process), `'inline'`, or a Compute to run on (SSH hosts, say; the executor does
   * not close it). @default 'thread'
   */
  backend?: LocalKind | Compute
  /** How ready steps are ordered: by bottom level (critical path first) or first-readied first. @default 'bottom-level' */
  policy?: SchedulingPolicy
}

export class ParallelExecutor {
  readonly maxWorkers: number
  readonly policy: SchedulingPolicy
  private readonly backend: LocalKind | Compute
  /** Watchers of every call on the pools this executor opens (run recorders). */
  private readonly observers = new Set<CallObserver>()

  constructor(options: ParallelExecutorOptions = {}) {
    checkKnownKeys('ParallelExecutor', options, ['maxWorkers', 'backend', 'policy'])
    const { backend = 'thread', policy = 'bottom-level' } = options
    if (!(backend instanceof Compute)) checkOneOf('backend', backend, LOCAL_KINDS)
    checkOneOf('policy', policy, SCHEDULING_POLICIES)
    const maxWorkers = options.maxWorkers ?? (backend instanceof Compute ? backend.nodes : localNodes(backend, availableParallelism()))
    checkInteger('maxWorkers', maxWorkers, 1)
    this.maxWorkers = maxWorkers
    this.policy = policy
    this.backend = backend
  }

  /**
   * @internal The pool for one run, and how to let go of it. `bounded`: the pool itself runs at
   * most `maxWorkers` calls at once (one thread per node, no more nodes than that), so steps
   * queued in it beyond `maxWorkers` (the look-ahead of cheap steps, see Slots) still never run
   * more than `maxWorkers` at a time.
   */
  async open(): Promise<{ compute: Compute; close: () => Promise<void>; bounded: boolean }> {
    const borrowed = this.backend instanceof Compute
    const compute = this.backend instanceof Compute ? this.backend : await Compute.start({ backend: this.backend, workers: this.maxWorkers })
    const bounded = !borrowed || (oneCallPerNode(compute.backend) && compute.nodes <= this.maxWorkers)
    const unwatch = [...this.observers].map((observer) => stepRunner(compute).observeCalls(observer))
    return {
      compute,
      bounded,
      close: async () => {
        try {
          if (!borrowed) await compute.close() // calls it rejects while closing are still watched
        } finally {
          unwatch.forEach((stop) => stop())
        }
      },
    }
  }

  /**
   * @internal Watches every call on the pools of later runs (a recorder created before the run
   * starts its pool). Returns how to stop watching.
   */
  observeCalls(observer: CallObserver): () => void {
    this.observers.add(observer)
    return () => this.observers.delete(observer)
  }
}
