/**
 * A run recorder: fed a pipeline run's events (`run({ onEvent: recorder.onEvent })`) and, given
 * the run's executor, every call of the pool the run opens (steps' calls, parallelMap chunks
 * from anywhere in the run, including those tasks fan out). It writes what it saw as a Chrome
 * trace or as a self-contained HTML report. The CLI's `--trace` and `--report` are this.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { ParallelExecutor } from '../pipeline/executor.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import type { PipelineEvent, RunRecord } from '../pipeline/types.js'
import { CallLog, keepLine, shapeOf, type OutputTail, type Recording } from './recording.js'
import { renderReport } from './report.js'
import { traceEvents } from './trace.js'

export interface RunRecorder {
  /** Pass it as (or call it from) `run({ onEvent })`. */
  readonly onEvent: (event: PipelineEvent) => void
  /** What was recorded so far (the input of `traceEvents` and `renderReport`). */
  readonly recording: Recording
  /** Writes a Chrome trace-event JSON file (Perfetto, chrome://tracing). */
  writeTrace(file: string): Promise<void>
  /** Writes the run's report: one HTML file, nothing fetched. `record` is what `run()` returned. */
  writeReport(file: string, record: RunRecord): Promise<void>
}

/**
 * Records one run of `pipeline`. Pass the `executor` the run will use to see its calls on the
 * pool's nodes (which node ran what, queue waits, chunks, interruptions); without it the trace and
 * report show what the events say (steps, their attempts and the node each ran on).
 * Watching starts now and stops when the run ends.
 */
export function createRecorder(pipeline: Pipeline, executor?: ParallelExecutor): RunRecorder {
  const events: PipelineEvent[] = []
  const log = new CallLog()
  const unwatch = executor?.observeCalls(log)
  const output: Record<string, OutputTail> = {}
  const recording: Recording = { pipeline: shapeOf(pipeline), events, calls: log.calls, output }
  return {
    recording,
    onEvent: (event) => {
      if (event.type === 'output') return keepLine(output, event.step, event.stream, event.line)
      events.push(event)
      if (event.type === 'run' && event.status !== 'running') unwatch?.()
    },
    // Writing means the run is over, even one that never started (its options were rejected):
    // stop watching the executor then too, so it does not keep this recorder for later runs.
    writeTrace: (file) => (unwatch?.(), write(file, `${JSON.stringify({ traceEvents: traceEvents(recording), displayTimeUnit: 'ms' })}\n`)),
    writeReport: (file, record) => (unwatch?.(), write(file, renderReport(record, recording))),
  }
}

async function write(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, text)
}
