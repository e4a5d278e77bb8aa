/**
 * What pipelines and run recorders use of a pool beyond its public verbs: run a Pending whose
 * graph holds pipeline steps, read a task's measured cost, watch every call, know when its
 * nodes start (a step whose call waits for its node is `starting`, not queued). Package-internal
 * (index.ts does not export it): `stepRunner(compute)` gives a pool's.
 */
import type { CallObserver } from '../dispatch/call.js'
import type { Dispatcher } from '../dispatch/dispatcher.js'
import type { CallOptions } from '../task/call-sink.js'
import type { Pending, TaskRef } from '../task/pending.js'
import { Evaluation, type StepResolver } from './evaluate.js'
import type { TraceParent } from '../observe/otel.js'
import type { NodeWatch } from './node-events.js'

export interface StepRunner {
  /** Runs `pending`, whose graph may refer to pipeline steps: `resolveStep` gives their values. `trace`: the step's span, when the run is traced. */
  runWithSteps(pending: Pending<unknown>, options: CallOptions, resolveStep: StepResolver, trace?: TraceParent): Promise<unknown>
  /** The measured ms per call of `task` on this pool (pipelines size their look-ahead by it); undefined before one has run. */
  msPerCall(task: TaskRef): number | undefined
  /** Watches every call of the pool (recorders). Returns how to stop watching. */
  observeCalls(observer: CallObserver): () => void
  /**
   * Whether `node` is still starting (its worker, agent or connection; or a replacement): then
   * `then` hears when it comes up (epoch ms). False when it can run calls now.
   */
  whenUp(node: number, then: (at: number) => void): boolean
  /** Whether `node` is still starting (see whenUp), without waiting for it. */
  starting(node: number): boolean
  /** When the pool began to start, and when each node first came up (undefined: not yet, or it does not report it). */
  poolStart(): { readonly at: number; readonly firstUp: ReadonlyArray<number | undefined> }
}

/** The StepRunner of a pool, over its dispatcher. */
export class DispatcherRunner implements StepRunner {
  private readonly observers = new Set<CallObserver>()

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly nodes: NodeWatch,
  ) {}

  runWithSteps(pending: Pending<unknown>, options: CallOptions, resolveStep: StepResolver, trace?: TraceParent): Promise<unknown> {
    return new Evaluation(this.dispatcher, options, resolveStep, trace).root(pending)
  }

  msPerCall(task: TaskRef): number | undefined {
    return this.dispatcher.msPerCall(task)
  }

  whenUp(node: number, then: (at: number) => void): boolean {
    return this.nodes.whenUp(node, then)
  }

  starting(node: number): boolean {
    const state = this.nodes.states[node]
    return state === 'starting' || state === 'replacing'
  }

  poolStart(): { readonly at: number; readonly firstUp: ReadonlyArray<number | undefined> } {
    return { at: this.nodes.startedAt, firstUp: this.nodes.firstUp }
  }

  observeCalls(observer: CallObserver): () => void {
    this.observers.add(observer)
    this.updateObserver()
    return () => {
      this.observers.delete(observer)
      this.updateObserver()
    }
  }

  /** The dispatcher holds one observer (one check per call): a fan-out only when several watch. */
  private updateObserver(): void {
    const all = [...this.observers]
    this.dispatcher.observer =
      all.length <= 1
        ? all[0]
        : {
            queued: (call, takenBack) => all.forEach((o) => o.queued(call, takenBack)),
            sent: (calls, node) => all.forEach((o) => o.sent(calls, node)),
            ran: (calls, ms) => all.forEach((o) => o.ran(calls, ms)),
            settled: (call, failed, error) => all.forEach((o) => o.settled(call, failed, error)),
          }
  }
}
