/**
 * How a run was started from the command line, kept beside its record in the run log
 * (`<run log>/<run id>/invocation.json`), so that `spindle resume <id>` needs nothing but the id:
 * a user who has the id from `spindle runs` should not have to remember which file and which
 * flags made it. The run log's own format (runlog/) is untouched: it ignores files it does not
 * know, and a run started from code simply has no invocation (resume then asks for the file).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../runlog/atomic-file.js'
import type { BackendFlag } from './args.js'

const FILE = 'invocation.json'
const VERSION = 1

export interface Invocation {
  /** Absolute path of the pipeline file. */
  readonly file: string
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
  const { version, file, backend, workers, hosts, params } = data as Record<string, unknown>
  if (version !== VERSION || typeof file !== 'string') return undefined
  return {
    file,
    backend: typeof backend === 'string' ? (backend as BackendFlag) : undefined,
    workers: typeof workers === 'number' ? workers : undefined,
    hosts: Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string') : undefined,
    params: typeof params === 'object' && params !== null ? Object.fromEntries(Object.entries(params).filter(([, v]) => typeof v === 'string')) : {},
  }
}
