/**
 * `spindle run <file>` and `spindle resume <id> [file]`: load the pipeline, start the pool the
 * flags ask for, run with the progress display (or JSON events), the run recorder and the
 * caller's cancellation signal, then write the trace and report and say how the run ended.
 *
 * The CLI starts the Compute itself and hands it to ParallelExecutor (which borrows a Compute
 * and never closes it): that is how every backend (thread, process, inline, ssh) and the tsx
 * execArgv reach the pool, and the CLI closes the pool in `finally`, cancelled or not, so no
 * worker or process outlives the command.
 */
import { join, resolve } from 'node:path'
import { Compute, type ComputeOptions } from '../compute/compute.js'
import { UsageError } from '../errors.js'
import { createRecorder } from '../observe/recorder.js'
import { ParallelExecutor } from '../pipeline/executor.js'
import type { PipelineEvent, RunRecord } from '../pipeline/types.js'
import { RunLog } from '../runlog/run-log.js'
import { pipelineProgress } from '../progress/progress.js'
import type { RunFlags } from './args.js'
import { typedParams } from './params.js'
import { readInvocation, trustedFile, writeInvocation, type Invocation } from './invocation.js'
import { loadPipeline } from './load.js'
import type { CliIO } from './io.js'
import { formatRunSummary } from './runs-format.js'
import { runHistory } from './history.js'
import { printable } from '../printable.js'
import { takes } from '../backends/registry.js'

/** Exit code of a run cancelled by SIGINT: 128 + 2, as shells report a Ctrl-C. */
export const EXIT_CANCELLED = 130

export function runLogDir(flags: { runLog: string | undefined }, cwd: string): string {
  return resolve(cwd, flags.runLog ?? join('.spindle', 'runs'))
}

export async function runCommand(file: string, flags: RunFlags, io: CliIO, resume?: string): Promise<number> {
  const logDir = runLogDir(flags, io.cwd)
  const loaded = await loadPipeline(file, io.cwd)
  const params = typedParams(loaded.pipeline, flags.params) // a bad --param fails before the pool starts
  const compute = await startCompute(flags, loaded.execArgv, io)
  let record: RunRecord
  try {
    const executor = new ParallelExecutor({ backend: compute, maxWorkers: flags.workers ?? compute.nodes })
    // The recorder watches the executor's pool too (which node ran what, queue waits, chunks).
    const run = flags.trace !== undefined || flags.report !== undefined ? createRecorder(loaded.pipeline, executor) : undefined
    const display = flags.json
      ? pipelineProgress({ stream: io.stdout as NodeJS.WritableStream, json: true })
      : flags.progress
        ? pipelineProgress({ stream: io.stderr as NodeJS.WritableStream & { isTTY?: boolean }, history: runHistory(logDir, loaded.pipeline.name) })
        : undefined
    const onEvent = (event: PipelineEvent) => {
      if (event.type === 'output' && !flags.json) writeStepLine(io, event)
      if (event.type === 'run' && event.status === 'running') {
        // Beside the record, before any step: a run killed at once can still be resumed by id.
        writeInvocation(logDir, event.run, { file: loaded.file, cwd: resolve(io.cwd), backend: flags.backend, workers: flags.workers, hosts: flags.hosts, params: flags.params })
      }
      run?.onEvent(event)
      display?.(event)
    }
    record = await loaded.pipeline.run({
      executor,
      onEvent,
      runLog: logDir,
      cacheDir: resolve(io.cwd, '.spindle', 'cache'),
      params,
      ...(io.signal !== undefined && { signal: io.signal }),
      ...(resume !== undefined && { resume }),
    })
    // Written even for a failed or cancelled run: that is when a trace is most wanted.
    if (flags.trace !== undefined) await run!.writeTrace(resolve(io.cwd, flags.trace))
    if (flags.report !== undefined) await run!.writeReport(resolve(io.cwd, flags.report), record)
  } finally {
    await compute.close()
  }
  if (!flags.json) io.stdout.write(formatRunSummary(record))
  if (flags.trace !== undefined && !flags.json) io.stdout.write(`Trace: ${resolve(io.cwd, flags.trace)}\n`)
  if (flags.report !== undefined && !flags.json) io.stdout.write(`Report: ${resolve(io.cwd, flags.report)}\n`)
  return record.status === 'succeeded' ? 0 : record.status === 'cancelled' ? EXIT_CANCELLED : 1
}

/**
 * A line a shell or script step printed, written as task output is (`[notify · shell] text`):
 * its stdout to stdout, its stderr to stderr, whole lines. On a terminal the line is cleared
 * first, since the live progress line may be drawn there (it redraws).
 */
function writeStepLine(io: CliIO, event: Extract<PipelineEvent, { type: 'output' }>): void {
  const out = event.stream === 'stdout' ? io.stdout : io.stderr
  const line = `[${printable(event.step)} · shell] ${event.line}\n`
  out.write(out.isTTY === true ? `\r\x1b[2K${line}` : line)
}

/**
 * `spindle resume <id> [file]`: the file and pool flags recorded when the CLI started the run,
 * unless given again. A run started from code has no recorded file: then the file is required;
 * so it is for a recorded file outside the run's working directory (see invocation.ts).
 */
export async function resumeCommand(id: string, file: string | undefined, flags: RunFlags, io: CliIO): Promise<number> {
  const logDir = runLogDir(flags, io.cwd)
  const invocation = readInvocation(logDir, id)
  RunLog.open(logDir).read(id) // an unknown id fails here, listing the recent ones, before anything loads
  const target = file ?? (invocation === undefined ? undefined : trustedFile(id, invocation))
  if (target === undefined) {
    throw new UsageError(`Run "${id}" was not started by the spindle CLI, so its pipeline file is not recorded: pass it, \`spindle resume ${id} <file>\`.`)
  }
  const merged: RunFlags = {
    ...flags,
    params: resumedParams(id, invocation, flags.params),
    backend: flags.backend ?? invocation?.backend,
    workers: flags.workers ?? invocation?.workers,
    hosts: flags.hosts ?? (invocation?.hosts === undefined ? undefined : [...invocation.hosts]),
  }
  // The broker's URL is not recorded (it may hold a password): a Redis run is resumed with it again.
  if (merged.backend !== undefined && takes(merged.backend, 'redis') !== (merged.redis !== undefined && merged.pool !== undefined)) {
    throw new UsageError(
      merged.redis === undefined && merged.pool === undefined
        ? `Run "${id}" ran on \`--backend ${merged.backend}\`: resume it with \`--redis <url> --pool <name>\` (the URL is not recorded).`
        : `\`--redis\` and \`--pool\` go together, and only with \`--backend redis\`.`,
    )
  }
  return runCommand(target, merged, io, id)
}

/**
 * The params of the run being resumed: its steps' outputs were made with them, so a different
 * value is refused (reusing them under other params would mix two runs). A run the CLI did not
 * start recorded none: then the given ones stand.
 */
function resumedParams(id: string, invocation: Invocation | undefined, given: Readonly<Record<string, string>>): Record<string, string> {
  if (invocation === undefined) return { ...given }
  for (const [name, text] of Object.entries(given)) {
    const recorded = invocation.params[name]
    if (recorded === text) continue
    const was = recorded === undefined ? `without \`--param ${name}\`` : `with \`--param ${name}=${recorded}\``
    throw new UsageError(`Run "${id}" was made ${was}; resume keeps its params. To run with \`--param ${name}=${text}\`, start a new run: \`spindle run\`.`)
  }
  return { ...invocation.params }
}

async function startCompute(flags: RunFlags, tsxArgv: string[] | undefined, io: CliIO): Promise<Compute> {
  const execArgv = tsxArgv === undefined || process.execArgv.some((a) => /tsx/.test(a)) ? undefined : [...process.execArgv, ...tsxArgv]
  const options: Record<string, unknown> = {
    backend: flags.backend ?? 'thread',
    ...(flags.workers !== undefined && takes(flags.backend ?? 'thread', 'workers') && { workers: flags.workers }),
    // Hosts go through as given; the SSH backend validates them.
    ...(flags.hosts !== undefined && { hosts: flags.hosts }),
    // A run waits for a first worker of the pool (startTimeout's minute) rather than failing at once.
    ...(flags.redis !== undefined && { redis: { url: flags.redis }, pool: flags.pool, minNodes: 1 }),
    ...(execArgv !== undefined && { execArgv }),
    // What tasks print goes where the CLI was told to write (bin.ts: the process's streams).
    output: { stdout: io.stdout, stderr: io.stderr },
  }
  return Compute.start(options as ComputeOptions)
}
