/**
 * How a run was started from the command line, kept beside its record in the run log
 * (`<run log>/<run id>/invocation.json`), so that `spindle resume <id>` needs nothing but the id:
 * a user who has the id from `spindle runs` should not have to remember which file and which
 * flags made it. The run log's own format (runlog/) is untouched: it ignores files it does not
 * know, and a run started from code simply has no invocation (resume then asks for the file).
 *
 * Resuming imports the recorded file, which runs its code. A run log is only a directory (copied
 * with a project, unpacked from an archive, written by anyone who can write there), so the
 * recorded file is used only if it lies inside the run's recorded working directory, symbolic
 * links resolved; any other file must be named on the command line (`trustedFile`).
 */
import { readFileSync, realpathSync } from 'node:fs'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { SpindleError } from '../errors.js'
import { writeFileAtomic } from '../runlog/atomic-file.js'
import type { BackendFlag } from './args.js'

const FILE = 'invocation.json'
const VERSION = 1

export interface Invocation {
  /** Absolute path of the pipeline file. */
  readonly file: string
  /** The working directory the run was started in (absent in invocations written before it was kept). */
  readonly cwd: string | undefined
  readonly backend: BackendFlag | undefined
  readonly workers: number | undefined
  readonly hosts: readonly string[] | undefined
  /** `--param` texts as given, by name: resume types them again against the pipeline. */
  readonly params: Readonly<Record<string, string>>
}

export function writeInvocation(runLogDir: string, runId: string, invocation: Invocation): void {
  writeFileAtomic(join(runLogDir, runId, FILE), `${JSON.stringify({ version: VERSION, ...invocation })}\n`)
}

/** The invocation of a run, or undefined when it was not started by the CLI (or is unreadable). */
export function readInvocation(runLogDir: string, runId: string): Invocation | undefined {
  let data: unknown
  try {
    data = JSON.parse(readFileSync(join(runLogDir, runId, FILE), 'utf8'))
  } catch {
    return undefined
  }
  if (typeof data !== 'object' || data === null) return undefined
  const { version, file, cwd, backend, workers, hosts, params } = data as Record<string, unknown>
  if (version !== VERSION || typeof file !== 'string') return undefined
  return {
    file,
    cwd: typeof cwd === 'string' ? cwd : undefined,
    backend: typeof backend === 'string' ? (backend as BackendFlag) : undefined,
    workers: typeof workers === 'number' ? workers : undefined,
    hosts: Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string') : undefined,
    params: typeof params === 'object' && params !== null ? Object.fromEntries(Object.entries(params).filter(([, v]) => typeof v === 'string')) : {},
  }
}

/**
 * The recorded pipeline file of run `id`, if it may be imported without being named on the
 * command line: inside the run's recorded working directory, once symbolic links are resolved.
 */
export function trustedFile(id: string, invocation: Invocation): string {
  const real = (path: string) => {
    try {
      return realpathSync(path)
    } catch {
      return resolve(path) // missing: loading it says so
    }
  }
  const file = real(invocation.file)
  const where = invocation.cwd === undefined ? undefined : real(invocation.cwd)
  const path = where === undefined ? undefined : relative(where, file)
  if (path !== undefined && path !== '' && !isAbsolute(path) && path.split(sep)[0] !== '..') return invocation.file
  const why = where === undefined ? 'its working directory is not recorded' : `it is outside the run's working directory ${where}`
  throw new SpindleError(
    'ERR_SPINDLE_RESUME_FILE_OUTSIDE',
    `Run "${id}" records the pipeline file ${invocation.file}, but ${why}. Resuming imports that file and runs its code, ` +
      `so spindle takes it from the run log only inside that directory. If you trust it, name it: \`spindle resume ${id} ${invocation.file}\`.`,
  )
}
