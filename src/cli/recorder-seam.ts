/**
 * The seam to the run recorder (`observe/recorder.ts`: Chrome trace JSON and the HTML report),
 * built alongside the CLI. It is imported only when `--trace` or `--report` is given, so a run
 * without them never loads it, and a build without it says so before any work starts instead
 * of failing after the run.
 */
import { UsageError } from '../errors.js'
import type { ParallelExecutor } from '../pipeline/executor.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import type { PipelineEvent, RunRecord } from '../pipeline/types.js'

/** What the CLI needs of a recorder (the agreed interface of `observe/recorder.ts`). */
export interface RunRecorder {
  readonly onEvent: (event: PipelineEvent) => void
  writeTrace(file: string): Promise<void>
  writeReport(file: string, record: RunRecord): Promise<void>
}

export type CreateRecorder = (pipeline: Pipeline, executor?: ParallelExecutor) => RunRecorder

// A computed specifier: the compiler does not require the module to exist at build time.
const RECORDER = new URL('../observe/recorder.js', import.meta.url).href

export async function openRecorder(): Promise<CreateRecorder> {
  let module: { createRecorder?: unknown }
  try {
    module = (await import(RECORDER)) as { createRecorder?: unknown }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new UsageError('--trace and --report need the run recorder (observe/recorder.js), which this build of spindle does not have.')
  }
  if (typeof module.createRecorder !== 'function') {
    throw new UsageError('--trace and --report need createRecorder() from observe/recorder.js, which this build of spindle does not export.')
  }
  return module.createRecorder as CreateRecorder
}
