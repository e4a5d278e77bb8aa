/**
 * What pipelines and run recorders use of a pool beyond its public verbs: run a Pending whose
 * graph holds pipeline steps, read a task's measured cost, watch every call. Package-internal
 * (index.ts does not export it): `stepRunner(compute)` gives a pool's.
 */
import type { CallObserver } from '../scheduler/call.js'
import type { Dispatcher } from '../scheduler/dispatcher.js'
import type { CallOptions } from '../task/call-sink.js'
import type { Pending, TaskRef } from '../task/pending.js'
import { Evaluation, type StepResolver } from './evaluate.js'
import type { TraceParent } from '../observe/otel.js'

export interface StepRunner {
  /** Runs `pending`, whose graph may refer to pipeline steps: `resolveStep` gives their values. `trace`: the step's span, when the run is traced. */
  runWithSteps(pending: Pending<unknown>, options: CallOptions, resolveStep: StepResolver, trace?: TraceParent): Promise<unknown>
  /** The measured ms per call of `task` on this pool (pipelines size their look-ahead by it); undefined before one has run. */
  msPerCall(task: TaskRef): number | undefined
  /** Watches every call of the pool (recorders). Returns how to stop watching. */
  observeCalls(observer: CallObserver): () => void
}

/** The StepRunner of a pool, over its dispatcher. */
export class DispatcherRunner implements StepRunner {
  private readonly observers = new Set<CallObserver>()

  constructor(private readonly dispatcher: Dispatcher) {}

  runWithSteps(pending: Pending<unknown>, options: CallOptions, resolveStep: StepResolver, trace?: TraceParent): Promise<unknown> {
    return new Evaluation(this.dispatcher, options, resolveStep, trace).root(pending)
  }

  msPerCall(task: TaskRef): number | undefined {
    return this.dispatcher.msPerCall(task)
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
