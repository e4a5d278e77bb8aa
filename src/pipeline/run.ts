/**
 * Running a pipeline: the whole tree (nested branches included) is checked before any step
 * starts, then the top level runs (see level.ts) on the executor's pool, and the run record
 * says how every step ended. A failed step does not reject the run: the record says `failed`.
 */
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { SpindleError } from '../errors.js'
import { checkKnownKeys, checkSignal, shown } from '../options.js'
import { InvalidOptionError } from '../errors.js'
import type { Pending } from '../task/pending.js'
import type { RunContext } from './context.js'
import { stepRunner } from '../compute/compute.js'
import { ParallelExecutor } from './executor.js'
import { graphOf, runLevel } from './level.js'
import type { PipelineDefinition } from './definition.js'
import { Slots } from './slots.js'
import type { StepGraph } from '../graph/step-graph.js'
import { openPersistence } from './persistence.js'
import { checkParamNames } from './params.js'
import type { RunLogOptions } from '../runlog/run-log-options.js'
import type { PipelineEvent, PoolStartBand, RunRecord, RunStatus, StepRecord } from './types.js'
import { watchPoolStart } from './pool-start.js'
import { endRunSpan, loadTracing, TraceParent } from '../observe/otel.js'

export interface RunPipelineOptions {
  /** Where and how many steps run at once. @default new ParallelExecutor() */
  executor?: ParallelExecutor
  /** Cancels the run: running steps are stopped, the record says `cancelled`. */
  signal?: AbortSignal
  /** Run every step that does not depend on a failed one; those are `skipped`. @default false */
  continueOnError?: boolean
  /** On a failure without continueOnError: `true` cancels running steps, `false` lets them finish. @default false */
  cancelRunning?: boolean
  /** Values for the pipeline's parameters (`p.param(name)`), seen by every nested branch. */
  params?: Record<string, unknown>
  /** Every step transition, for progress displays and traces. */
  onEvent?: (event: PipelineEvent) => void
  /**
   * Directory of run records (each step's written as it ends, before its event), `false` for
   * none, or `{ dir, keep }` to keep only the newest `keep` runs of this pipeline. @default '.spindle/runs'
   */
  runLog?: string | false | RunLogOptions
  /** The id of an earlier run (`run.id`) of this pipeline: steps that succeeded there reuse their recorded outputs. */
  resume?: string
  /** Directory of the step cache (`cache: true` steps). @default '.spindle/cache' */
  cacheDir?: string
}

export async function runPipeline(pipeline: PipelineDefinition, options: RunPipelineOptions): Promise<RunRecord> {
  checkKnownKeys('pipeline.run()', options, ['executor', 'signal', 'continueOnError', 'cancelRunning', 'params', 'onEvent', 'runLog', 'resume', 'cacheDir'])
  if (options.signal !== undefined) checkSignal('signal', options.signal)
  if (options.params !== undefined && (typeof options.params !== 'object' || options.params === null)) {
    throw new InvalidOptionError(`Expected \`params\` to be an object of parameter values, got ${shown(options.params)}`)
  }
  const graphs = new Map<PipelineDefinition, StepGraph>()
  validateTree(pipeline, [], graphs)
  if (options.params !== undefined) checkParamNames(pipeline, options.params)
  const executor = options.executor ?? new ParallelExecutor()
  const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`
  const startedAt = Date.now()
  const stop = new AbortController()
  setMaxListeners(0, stop.signal) // every running step listens to it: no leak, however wide the run
  const userAbort = () => stop.abort(options.signal!.reason)
  options.signal?.addEventListener('abort', userAbort, { once: true })
  // Opened before the pool: an unknown run id to resume fails before any work.
  const persistence = openPersistence(options, { id, pipeline: pipeline.name, startedAt, steps: pipeline.steps.map((s) => s.name) })
  // Every event waits for the records made before it to reach the disk: a step reported done is on disk.
  const onEvent = options.onEvent
  const emit = onEvent === undefined ? () => {} : (event: PipelineEvent) => persistence.afterDurable(() => onEvent(event))
  await loadTracing() // the run's span covers the pool's start
  const trace = TraceParent.active()?.span(`spindle.pipeline ${pipeline.name}`, { 'spindle.pipeline.name': pipeline.name, 'spindle.run.id': id })
  let opened: Awaited<ReturnType<typeof executor.open>>
  try {
    opened = await executor.open()
  } catch (error) {
    // No pool, no run: its record ends as failed, the journal's file is closed, and the run's span ends with the error.
    options.signal?.removeEventListener('abort', userAbort)
    await persistence.finish('failed', Date.now()).catch(() => {})
    trace?.end(error)
    throw error
  }
  const { compute, close, bounded } = opened
  const ctx: RunContext = {
    runner: stepRunner(compute),
    executor,
    slots: new Slots(executor.maxWorkers, bounded),
    stop,
    user: options.signal,
    continueOnError: options.continueOnError === true,
    cancelRunning: options.cancelRunning === true,
    params: options.params ?? {},
    records: [],
    emit,
    listening: options.onEvent !== undefined,
    failed: false,
    persistence,
    graphs,
    runLevel: (level) => runLevel(ctx, level),
  }
  const outputs = new Map<string, unknown>()
  emit({ type: 'run', status: 'running', run: id, at: startedAt, steps: pipeline.steps.map((s) => s.name) })
  const poolStart = watchPoolStart(ctx.runner, compute.nodes, startedAt, (band) => emit({ type: 'pool', node: band.node, from: band.from, at: band.to }))
  let bands: PoolStartBand[] = []
  try {
    await runLevel(ctx, { pipeline, prefix: '', outputs, keys: new Map(), parent: undefined, trace: trace?.parent })
  } catch (error) {
    trace?.end(error)
    throw error
  } finally {
    options.signal?.removeEventListener('abort', userAbort)
    bands = poolStart.end()
    await close()
  }
  const status: RunStatus = options.signal?.aborted ? 'cancelled' : ctx.failed ? 'failed' : 'succeeded'
  const endedAt = Date.now()
  await persistence.finish(status, endedAt, bands)
  emit({ type: 'run', status, run: id, at: endedAt })
  endRunSpan(trace, compute.backend, status, ctx.records)
  return makeRecord(id, pipeline, status, startedAt, endedAt, ctx.records, outputs, bands)
}

/** Every level's graph is valid, and a branch reads only steps of pipelines that contain it. The graphs are kept for the run. */
function validateTree(pipeline: PipelineDefinition, ancestors: readonly PipelineDefinition[], graphs: Map<PipelineDefinition, StepGraph>): void {
  graphs.set(pipeline, graphOf(pipeline))
  for (const ref of pipeline.externals.values()) {
    if (ancestors.includes(ref.pipeline as PipelineDefinition)) continue
    throw new SpindleError(
      'ERR_SPINDLE_FOREIGN_STEP',
      `Pipeline "${pipeline.name}" uses step "${ref.name}" of pipeline "${ref.pipeline.name}", which does not contain it. ` +
        'A step can use steps of its own pipeline and of the pipelines it is nested in (p.parallel); define the step there.',
    )
  }
  for (const def of pipeline.steps) for (const branch of Object.values(def.branches ?? {})) validateTree(branch, [...ancestors, pipeline], graphs)
}

function makeRecord(
  id: string,
  pipeline: PipelineDefinition,
  status: RunStatus,
  startedAt: number,
  endedAt: number,
  steps: StepRecord[],
  outputs: Map<string, unknown>,
  poolStart: readonly PoolStartBand[],
): RunRecord {
  return {
    id,
    pipeline: pipeline.name,
    status,
    startedAt,
    endedAt,
    poolStart,
    steps,
    output<T>(step: Pending<T>): T {
      const name = step?.step?.name
      if (name === undefined || step.step!.pipeline !== pipeline || step.step!.param !== undefined) {
        throw new SpindleError('ERR_SPINDLE_NO_OUTPUT', `run.output() takes a step of pipeline "${pipeline.name}", as returned by p.step().`)
      }
      const record = steps.find((s) => s.name === name)!
      if (record.status !== 'succeeded') {
        throw new SpindleError('ERR_SPINDLE_NO_OUTPUT', `Step "${name}" has no output: it ${record.status === 'failed' ? 'failed' : `was ${record.status}`}. Check run.steps for its error.`)
      }
      return outputs.get(name) as T
    },
  }
}
