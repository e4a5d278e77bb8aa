// The public surface of spindle: named re-exports only.
export { remote, taskOf } from './task/remote.js'
export type { RemoteModule, RemoteFunction, DeferrableArgs } from './task/remote.js'
export { gather } from './task/gather.js'
export type { GatherValues } from './task/gather.js'
export { Pending, isPending } from './task/pending.js'
export type { TaskRef, Deferrable, ValueOf } from './task/pending.js'
export { shard } from './task/shard.js'
export type { ShardOptions } from './task/shard.js'
export { instanceInfo } from './worker/context.js'
export { traceparent } from './worker/trace-context.js'
export type { InstanceInfo, BackendKind } from './worker/context.js'
export { Compute } from './compute/compute.js'
export type { ComputeOptions, RunOptions, StreamOptions, MapOptions } from './compute/compute.js'
export type { SshHost, SshOptions } from './backends/ssh/hosts.js'
export type { Finished, FinishedOf } from './compute/stream.js'
export {
  SpindleError,
  InvalidOptionError,
  WorkerExitError,
  InterruptedError,
  TimeoutError,
  NotCloneableError,
  ClosedError,
} from './errors.js'
export type { SpindleErrorCode } from './errors.js'
export { parallelMap } from './map/parallel-map.js'
export type { ParallelMapOptions, IterateOptions, Mapper, SettledItem } from './map/parallel-map.js'
export { MapItemError, CycleError, DuplicateStepError, UnknownStepError, SshError } from './errors.js'
export type { SshErrorCode } from './errors.js'
export { UnknownRunError } from './runlog/run-log.js'
export { glob } from './map/glob.js'
export { Pipeline } from './pipeline/pipeline.js'
export { ParallelExecutor } from './pipeline/executor.js'
export type { ParallelExecutorOptions } from './pipeline/executor.js'
export type { RunPipelineOptions } from './pipeline/run.js'
export type { RunLogOptions } from './runlog/run-log-options.js'
export type { ShellResult, ShellOptions, ShellValue } from './pipeline/shell.js'
export type { StepOptions, StepRecord, StepStatus, StepKind, RunRecord, RunStatus, PipelineEvent } from './pipeline/types.js'
export { pipelineProgress } from './progress/progress.js'
export type { ProgressOptions } from './progress/progress.js'
export type { RunHistory } from './progress/eta.js'
export { createRecorder } from './observe/recorder.js'
export type { RunRecorder } from './observe/recorder.js'
export { traceEvents } from './observe/trace.js'
export type { TraceEvent } from './observe/trace.js'
export { renderReport } from './observe/report.js'
export type { Recording, PipelineShape, CallSpan, CallRun, OutputTail } from './observe/recording.js'
