/**
 * The `spindle` command: `main(argv, io)` takes its streams, working directory and cancellation
 * signal as parameters (citty's model), so tests call it without spawning a process; only
 * bin.ts touches `process`. It resolves to the exit code:
 *   0  success
 *   1  the run failed, or the pipeline file threw / the pipeline is invalid
 *   2  usage error: a bad command, flag or value (one line, and where the usage is), a pipeline
 *      file that does not exist or exports no pipeline, an unknown run id
 *   130 the run was cancelled (Ctrl-C): 128 + SIGINT, as shells report it
 */
import { readFileSync } from 'node:fs'
import { PipelineLoadError, SpindleError, UsageError } from '../errors.js'
import { closest } from '../options.js'
import { RunLog, UnknownRunError } from '../runlog/run-log.js'
import { parseAge, pruneRuns } from '../runlog/prune.js'
import { graphFormat, integerFlag, parseCommandLine, positionals, runFlags, type CommandName } from './args.js'
import { formatGraph } from './graph-format.js'
import { readInvocation } from './invocation.js'
import { loadPipeline } from './load.js'
import { runCommand, runLogDir, resumeCommand } from './run-command.js'
import { formatRunList, formatRunShow } from './runs-format.js'
import type { CliIO } from './io.js'
import { startRedisWorker } from '../backends/redis/redis-worker.js'

export const USAGE = `Usage: spindle <command> [options]

Commands:
  run <file>               Run the pipeline that <file> (.ts or .js) exports as default
                           (a Pipeline, or a function returning one)
  graph <file>             Print the pipeline's step graph
  runs                     List recorded runs, newest first
  runs show <id>           Show one run and its steps
  runs prune               Remove old runs: --keep <n> newest, and/or those --older-than <age>
  version                  Print spindle's version (also --version, -v)
  resume <id> [file]       Run again, reusing the steps that succeeded in run <id>
                           (the file is recorded when the CLI started the run)
  worker                   Serve a Redis pool: --redis <url> --pool <name>
                           [--workers-per-node <n>] (threads; default 1). Ctrl-C or
                           SIGTERM leaves the pool once the calls it began have answered;
                           so does --idle-exit <age> (30s, 5m) with no caller for that long

Options of run and resume:
  --workers <n>            Steps at once, and the pool's workers (default: cores;
                           on redis, the workers there when the run starts)
  --backend <name>         thread (default), process, inline, ssh or redis
  --hosts <list>           SSH hosts, user@host[:port], comma-separated (with --backend ssh)
  --redis <url>            The broker (with --backend redis; not recorded: resume needs it again)
  --pool <name>            The pool the workers serve (with --backend redis)
  --trace <out.json>       Write a Chrome trace (chrome://tracing, Perfetto)
  --report <out.html>      Write a self-contained HTML report
  --json                   One JSON object per event on stdout, no live display
  --no-progress            No progress display (the summary is still printed)
  --run-log <dir>          Run log directory (default: .spindle/runs)
  --param <name=value>     A pipeline parameter (p.param), typed by its default;
                           repeatable. resume keeps the run's params

Options of graph:
  --format <name>          mermaid (default) or dot

Options of runs:
  --json                   Print JSON
  --run-log <dir>          Run log directory (default: .spindle/runs)
  --keep <n>               (prune) Keep the newest n runs
  --older-than <age>       (prune) Remove runs started longer ago: 30m, 12h, 7d, 2w

Exit codes: 0 success, 1 run failed, 2 usage error, 130 cancelled (Ctrl-C).
`

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let command: CommandName | undefined
  try {
    const parsed = parseCommandLine(argv)
    command = parsed.command
    if (parsed.help) {
      io.stdout.write(USAGE)
      return 0
    }
    const { values } = parsed
    switch (parsed.command) {
      case 'help':
        io.stdout.write(USAGE)
        return 0
      case 'version':
        io.stdout.write(`spindle ${version()}\n`)
        return 0
      case 'run': {
        const [file] = positionals('run', parsed.positionals, ['file'])
        return await runCommand(file!, runFlags('run', values), io)
      }
      case 'resume': {
        const [id, file] = positionals('resume', parsed.positionals, ['id', 'file'], 1)
        return await resumeCommand(id!, file, runFlags('resume', values), io)
      }
      case 'graph': {
        const [file] = positionals('graph', parsed.positionals, ['file'])
        const format = graphFormat(values)
        io.stdout.write(formatGraph((await loadPipeline(file!, io.cwd)).pipeline, format))
        return 0
      }
      case 'runs':
        return runs(parsed.positionals, values, io)
      case 'worker':
        positionals('worker', parsed.positionals, [])
        return await workerCommand(values, io)
    }
  } catch (error) {
    return report(error, command, io)
  }
}

/** `spindle worker`: joins a Redis pool, serves it until the signal (Ctrl-C), then leaves it. */
async function workerCommand(values: Record<string, unknown>, io: CliIO): Promise<number> {
  const url = values.redis as string | undefined
  const pool = values.pool as string | undefined
  if (url === undefined || pool === undefined) throw new UsageError('`spindle worker` needs `--redis <url>` and `--pool <name>`.')
  const threads = values['workers-per-node'] as string | undefined
  const workersPerNode = threads === undefined ? 1 : integerFlag('--workers-per-node', threads, 1)
  const idleText = values['idle-exit'] as string | undefined
  const idleExit = idleText === undefined ? undefined : parseAge(idleText)
  if (idleExit === undefined && idleText !== undefined) throw new UsageError(`\`--idle-exit\` is an age such as 30s, 5m or 1h, got "${idleText}".`)
  const worker = await startRedisWorker({ url, pool, workersPerNode })
  io.stderr.write(`spindle worker ${worker.id}: serving pool "${pool}" with ${workersPerNode} thread${workersPerNode === 1 ? '' : 's'}\n`)
  const signalled = new Promise<string>((resolve) => (io.signal?.aborted ? resolve('stopped') : io.signal?.addEventListener('abort', () => resolve('stopped'), { once: true })))
  const idle = idleExit === undefined ? [] : [worker.idle(idleExit).then(() => `no caller for ${idleText}`)]
  const why = await Promise.race([signalled, ...idle])
  io.stderr.write(`spindle worker ${worker.id}: ${why}; leaving pool "${pool}" once the batches it began have answered\n`)
  await worker.stop()
  io.stderr.write(`spindle worker ${worker.id}: left\n`)
  return 0
}

function runs(args: readonly string[], values: Record<string, unknown>, io: CliIO): number {
  const logDir = runLogDir({ runLog: values['run-log'] as string | undefined }, io.cwd)
  const log = RunLog.open(logDir)
  const json = values.json === true
  if (args[0] !== 'prune' && (values.keep !== undefined || values['older-than'] !== undefined)) throw new UsageError('`--keep` and `--older-than` are for `runs prune`.')
  if (args.length === 0) {
    const list = log.list()
    io.stdout.write(json ? `${JSON.stringify(list, null, 2)}\n` : formatRunList(list, logDir))
    return 0
  }
  if (args[0] === 'prune') return prune(log, args, values, io)
  if (args[0] !== 'show') {
    const guess = closest(args[0]!, ['show', 'prune'])
    throw new UsageError(`runs takes no argument but \`show <id>\` or \`prune\`; got "${args[0]}".${guess === undefined ? '' : ` Did you mean "${guess}"?`}`)
  }
  const [, id] = positionals('runs show', args, ['show', 'id'])
  const run = log.read(id!)
  const invocation = readInvocation(logDir, run.id)
  if (json) {
    const { step: _step, output: _output, ...data } = run
    io.stdout.write(`${JSON.stringify({ ...data, ...(invocation !== undefined && { file: invocation.file, params: invocation.params }) }, errorReplacer, 2)}\n`)
  } else {
    io.stdout.write(formatRunShow(run, invocation))
  }
  return 0
}

function prune(log: RunLog, args: readonly string[], values: Record<string, unknown>, io: CliIO): number {
  positionals('runs prune', args, ['prune'])
  const keep = values.keep === undefined ? undefined : integerFlag('--keep', values.keep as string, 0)
  const ageText = values['older-than'] as string | undefined
  const olderThan = ageText === undefined ? undefined : parseAge(ageText)
  if (ageText !== undefined && olderThan === undefined) throw new UsageError(`Expected \`--older-than\` to be an age such as 30m, 12h, 7d or 2w, got "${ageText}".`)
  if (keep === undefined && olderThan === undefined) throw new UsageError('runs prune needs `--keep <n>`, `--older-than <age>`, or both.')
  const { removed, kept } = pruneRuns(log, { keep, olderThan })
  if (values.json === true) io.stdout.write(`${JSON.stringify({ removed: removed.map((r) => r.id), kept }, null, 2)}\n`)
  else io.stdout.write(`Removed ${removed.length} run${removed.length === 1 ? '' : 's'} from ${log.dir}; ${kept} kept.\n`)
  return 0
}

/** Prints an error the way its kind calls for and picks the exit code. */
function report(error: unknown, command: CommandName | undefined, io: CliIO): number {
  if (error instanceof UsageError) {
    io.stderr.write(`spindle: ${error.message}\n${HINT}`)
    return 2
  }
  const where = command === undefined ? 'spindle' : `spindle ${command}`
  const usageLike =
    error instanceof UnknownRunError ||
    (error instanceof PipelineLoadError && error.code !== 'ERR_SPINDLE_PIPELINE_IMPORT') ||
    (error instanceof SpindleError && (error.code === 'ERR_SPINDLE_INVALID_OPTION' || error.code === 'ERR_SPINDLE_RESUME_FILE_OUTSIDE'))
  const text = error instanceof Error ? error.message : String(error)
  const cause = error instanceof PipelineLoadError && error.cause instanceof Error && error.cause.stack !== undefined ? `\n${error.cause.stack}` : ''
  const code = error instanceof SpindleError ? ` [${error.code}]` : ''
  io.stderr.write(`${where}: ${text}${code}${cause}\n${usageLike ? HINT : ''}`)
  if (!(error instanceof SpindleError) && error instanceof Error && error.stack !== undefined) io.stderr.write(`${error.stack}\n`)
  return usageLike ? 2 : 1
}

const HINT = 'Run `spindle --help` for usage.\n'

/** The package's version, from the package.json beside dist/ (installed or not). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message, ...('code' in value && { code: (value as { code: unknown }).code }) } : value
}
