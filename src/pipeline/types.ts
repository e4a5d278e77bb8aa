/** The shapes a pipeline run reports: step records, the run record, events. */
import type { Pending } from '../task/pending.js'
// A step's kind and status and a run's status are what the run log records: defined there, below the pipeline.
import type { RunStatus, StepKind, StepStatus } from '../runlog/records.js'
import type { PoolStartBand, StepTimes } from '../runlog/step-times.js'

export type { PoolStartBand, RunStatus, StepKind, StepStatus, StepTimes }

export interface StepRecord {
  readonly name: string
  readonly kind: StepKind
  status: StepStatus
  /** Attempts made (retries after errors the step threw; interruptions are retried below this). */
  attempts: number
  /** The node (worker) that ran the step's call, for call steps. */
  node: number | undefined
  /** Epoch ms: its first attempt's start. */
  startedAt: number | undefined
  /** Epoch ms: its last attempt's start. */
  attemptStartedAt: number | undefined
  /** Epoch ms when the last attempt's call reached a node (call steps): before it, the step waited in the pool's queue. */
  dispatchedAt: number | undefined
  /** Epoch ms when that node came up, if it was still starting then: until it, the step waited for the pool's start-up. */
  nodeUpAt: number | undefined
  endedAt: number | undefined
  /** ms its attempts spent queued, starting and running: the figures every display shows (runlog/step-times.ts). */
  times: StepTimes | undefined
  /** What the last attempt threw, as thrown. */
  error: unknown
  /** For a skipped step: the failed step that blocked it. */
  blockedBy: string | undefined
  /** Where a succeeded step's output came from when it did not run: the cache, or the resumed run. */
  reused: 'cache' | 'resume' | undefined
  /** Its cache key, for a step with `cache: true`. */
  cacheKey: string | undefined
}

export interface RunRecord {
  readonly id: string
  readonly pipeline: string
  readonly status: RunStatus
  readonly startedAt: number
  readonly endedAt: number
  /** Nodes of the pool that started during the run: the "pool start" band, per node. */
  readonly poolStart: readonly PoolStartBand[]
  /** Every step, in definition order. */
  readonly steps: readonly StepRecord[]
  /** A succeeded step's output, typed by the step's Pending. Throws for a step that has none. */
  output<T>(step: Pending<T>): T
}

export type PipelineEvent =
  | {
      readonly type: 'run'
      readonly status: 'running' | RunStatus
      readonly run: string
      readonly at: number
      /** On the first event: the top-level steps (nested ones appear as their branches start). */
      readonly steps?: readonly string[]
    }
  | {
      readonly type: 'step'
      readonly step: string
      /** The step's kind: a `parallel` step stands for its branches' steps, which run under it. */
      readonly kind?: StepKind
      readonly status: StepStatus
      readonly attempt: number
      readonly at: number
      readonly error?: unknown
      /**
       * On the event that ends an attempt (a retry's `pending`, or the final status) of a step
       * whose call reached a node: the node that ran it, and when it got there (epoch ms). From
       * `running` to `dispatchedAt` the call waited in the pool's queue; to `nodeUpAt`, if the
       * node was still starting, it waited for the node (`starting`).
       */
      readonly node?: number
      readonly dispatchedAt?: number
      readonly nodeUpAt?: number
      /** On `succeeded`, for a step that did not run: its output came from the cache or the resumed run. */
      readonly reused?: 'cache' | 'resume'
    }
  | {
      /**
       * A call step's call reached a node still starting (`starting`), and that node came up
       * (`running`). A call sent to a node that is up has no such event: it runs at once.
       */
      readonly type: 'phase'
      readonly step: string
      readonly attempt: number
      readonly phase: 'starting' | 'running'
      readonly node: number
      readonly at: number
    }
  | {
      /** A node of the pool came up during the run: its start-up ran from `from` (the pool's start, or the run's) to `at`. */
      readonly type: 'pool'
      readonly node: number
      readonly from: number
      readonly at: number
    }
  | {
      /** A `map` step's items: once when they are known (`done` 0), then as each one succeeds. */
      readonly type: 'items'
      readonly step: string
      readonly done: number
      readonly total: number
      readonly at: number
    }
  | {
      /** A line a shell or script step printed (without its newline), as it was printed. */
      readonly type: 'output'
      readonly step: string
      readonly stream: 'stdout' | 'stderr'
      readonly line: string
      readonly at: number
    }

export interface StepOptions {
  /** Steps to run after, with no data passed (their outputs are not arguments). */
  after?: ReadonlyArray<Pending<unknown> | string>
  /** Times to run the step again after it throws. @default 0 */
  retries?: number
  /** Wait before the first retry, in ms; doubled for each later one. @default 100 */
  retryDelay?: number
  /** Deadline in ms from the step's start; the work is stopped at it. */
  timeout?: number
  /** Among ready steps, a higher priority starts first. @default 0 */
  priority?: number
  /**
   * A step of this pipeline that runs only if this one fails, to recover (runnable's on_failure):
   * this step's failure is then handled, and the run fails only if the recovery step fails.
   */
  onFailure?: Pending<unknown> | string
  /** Reuse the output of an earlier run with the same task, module content, arguments and upstream keys (call steps). @default false */
  cache?: boolean
}
