/**
 * Running a pipeline: the graph is checked before any step starts, then a list scheduler hands
 * out ready steps (critical path first) while fewer than `maxWorkers` run, so no worker idles
 * while a step is ready. A step that throws is retried if it asks to be; what it finally does
 * decides the rest: fail fast (start nothing new), or with `continueOnError` skip only what
 * depends on it.
 */
import { randomUUID } from 'node:crypto'
import { SpindleError } from '../errors.js'
import { runWithSteps, type Compute } from '../compute/compute.js'
import { StepGraph } from '../graph/step-graph.js'
import { ListScheduler } from '../scheduler/list-scheduler.js'
import { Completions } from '../map/completions.js'
import { checkKnownKeys, checkSignal } from '../options.js'
import type { Pending } from '../task/pending.js'
import { ParallelExecutor } from './executor.js'
import type { Pipeline, StepDefinition } from './pipeline.js'
import { runShell } from './shell.js'
import type { PipelineEvent, RunRecord, RunStatus, StepRecord, StepStatus } from './types.js'

export interface RunPipelineOptions {
  /** Where and how many steps run at once. @default new ParallelExecutor() */
  executor?: ParallelExecutor
  /** Cancels the run: running steps are stopped, the record says `cancelled`. */
  signal?: AbortSignal
  /** Run every step that does not depend on a failed one; those are `skipped`. @default false */
  continueOnError?: boolean
  /** On a failure without continueOnError: `true` cancels running steps, `false` lets them finish. @default false */
  cancelRunning?: boolean
  /** Every step transition, for progress displays and traces. */
  onEvent?: (event: PipelineEvent) => void
}

interface Ended {
  readonly name: string
  readonly ok: boolean
  readonly value: unknown
}

export async function runPipeline(pipeline: Pipeline, options: RunPipelineOptions): Promise<RunRecord> {
  checkKnownKeys('pipeline.run()', options, ['executor', 'signal', 'continueOnError', 'cancelRunning', 'onEvent'])
  if (options.signal !== undefined) checkSignal('signal', options.signal)
  const definitions = new Map(pipeline.steps.map((d) => [d.name, d]))
  const graph = new StepGraph()
  for (const d of definitions.values()) graph.add(d.name, { deps: d.deps, priority: d.options.priority ?? 0 })
  const executor = options.executor ?? new ParallelExecutor()
  const scheduler = new ListScheduler(graph, { policy: executor.policy }) // unknown steps and cycles throw here

  const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`
  const startedAt = Date.now()
  const records = new Map<string, StepRecord>()
  for (const d of definitions.values()) {
    records.set(d.name, { name: d.name, kind: d.kind, status: 'pending', attempts: 0, startedAt: undefined, endedAt: undefined, error: undefined, blockedBy: undefined })
  }
  const outputs = new Map<string, unknown>()
  const emit = (event: PipelineEvent) => options.onEvent?.(event)
  const transition = (record: StepRecord, status: StepStatus, error?: unknown) => {
    record.status = status
    if (status === 'running') record.startedAt ??= Date.now()
    else if (status !== 'pending') record.endedAt = Date.now()
    if (error !== undefined) record.error = error
    emit({ type: 'step', step: record.name, status, attempt: record.attempts, at: Date.now(), ...(error !== undefined && { error }) })
  }

  const stopper = new AbortController()
  const userAbort = () => stopper.abort(options.signal!.reason)
  options.signal?.addEventListener('abort', userAbort, { once: true })
  const { compute, close } = await executor.open()
  const ended = new Completions<Ended>()
  let running = 0
  let failed = false
  emit({ type: 'run', status: 'running', run: id, at: startedAt })
  try {
    for (;;) {
      while (!stopper.signal.aborted && !(failed && !options.continueOnError) && running < executor.maxWorkers) {
        const name = scheduler.next()
        if (name === undefined) break
        running++
        ended.add(attempt(compute, definitions.get(name)!, records.get(name)!, outputs, stopper.signal, transition))
      }
      if (running === 0) break
      const { name, ok, value } = await ended.next()
      running--
      const record = records.get(name)!
      if (ok) {
        outputs.set(name, value)
        transition(record, 'succeeded')
        scheduler.complete(name)
        continue
      }
      const cancelled = stopper.signal.aborted && (options.signal?.aborted ?? false)
      transition(record, cancelled ? 'cancelled' : 'failed', value)
      const blocked = scheduler.fail(name)
      // Downstream of a failure: skipped. Downstream of a cancellation: cancelled, below.
      for (const name of cancelled ? [] : blocked) {
        const skipped = records.get(name)!
        skipped.blockedBy = record.name
        transition(skipped, 'skipped')
      }
      if (!cancelled) {
        failed = true
        if (!options.continueOnError && options.cancelRunning) stopper.abort(new Error(`step "${name}" failed`))
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', userAbort)
    await close()
  }
  // Steps that never started because the run stopped early.
  for (const record of records.values()) if (record.status === 'pending') transition(record, 'cancelled')
  const status: RunStatus = options.signal?.aborted ? 'cancelled' : failed ? 'failed' : 'succeeded'
  const endedAt = Date.now()
  emit({ type: 'run', status, run: id, at: endedAt })
  return makeRecord(id, pipeline.name, status, startedAt, endedAt, [...records.values()], outputs)
}

/** One step, with its retries; never rejects (the outcome says how it ended). */
async function attempt(
  compute: Compute,
  def: StepDefinition,
  record: StepRecord,
  outputs: Map<string, unknown>,
  stop: AbortSignal,
  transition: (record: StepRecord, status: StepStatus, error?: unknown) => void,
): Promise<Ended> {
  const retries = def.options.retries ?? 0
  for (let delay = def.options.retryDelay ?? 100; ; delay *= 2) {
    record.attempts++
    transition(record, 'running')
    try {
      return { name: def.name, ok: true, value: await execute(compute, def, outputs, stop) }
    } catch (error) {
      if (stop.aborted || record.attempts > retries) return { name: def.name, ok: false, value: error }
      transition(record, 'pending', error) // failed this attempt; it will run again
      await sleep(delay, stop).catch(() => {})
      if (stop.aborted) return { name: def.name, ok: false, value: stop.reason }
    }
  }
}

function execute(compute: Compute, def: StepDefinition, outputs: Map<string, unknown>, stop: AbortSignal): Promise<unknown> {
  const { timeout } = def.options
  if (def.kind === 'stub') return Promise.resolve(undefined)
  if (def.kind === 'shell') {
    const signal = timeout === undefined ? stop : AbortSignal.any([stop, AbortSignal.timeout(timeout)])
    return runShell(def.name, def.command!, def.shell, signal)
  }
  const resolveStep = (ref: Pending<unknown>) => Promise.resolve(outputs.get(ref.step!.name))
  return compute[runWithSteps](def.pending!, { signal: stop, timeout }, resolveStep)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true })
  })
}

function makeRecord(
  id: string,
  pipeline: string,
  status: RunStatus,
  startedAt: number,
  endedAt: number,
  steps: StepRecord[],
  outputs: Map<string, unknown>,
): RunRecord {
  return {
    id,
    pipeline,
    status,
    startedAt,
    endedAt,
    steps,
    output<T>(step: Pending<T>): T {
      const name = step?.step?.name
      const record = steps.find((s) => s.name === name)
      if (name === undefined || record === undefined || step.step!.pipeline.name !== pipeline) {
        throw new SpindleError('ERR_SPINDLE_NO_OUTPUT', `run.output() takes a step of pipeline "${pipeline}", as returned by p.step().`)
      }
      if (record.status !== 'succeeded') {
        throw new SpindleError('ERR_SPINDLE_NO_OUTPUT', `Step "${name}" has no output: it ${record.status === 'failed' ? 'failed' : `was ${record.status}`}. Check run.steps for its error.`)
      }
      return outputs.get(name) as T
    },
  }
}
