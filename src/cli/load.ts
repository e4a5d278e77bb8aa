/**
 * Loading a pipeline file: a `.js`/`.mjs` module, or a `.ts`/`.mts` one through tsx, whose
 * default export is a Pipeline or a function returning one (sync or async).
 *
 * TypeScript: Node 20 cannot strip types, so the CLI registers tsx's ESM hooks in this process
 * (`tsx/esm/api`, only when a TypeScript file is loaded) and gives the pool `--import <tsx>` in
 * its execArgv. That is the path `node --import tsx main.ts` already takes, so worker threads
 * and process agents register tsx themselves (worker/typescript-loader.ts) and `.ts` task
 * modules load there too. tsx is resolved from spindle's own dependencies, not the user's
 * project, so `spindle run pipeline.ts` works in a project that has no tsx of its own.
 */
import { existsSync, statSync } from 'node:fs'
import { extname, isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { PipelineLoadError } from '../errors.js'
import { Pipeline } from '../pipeline/pipeline.js'

const TYPESCRIPT = ['.ts', '.mts', '.cts']

export interface LoadedPipeline {
  readonly pipeline: Pipeline
  /** The absolute path of the file it came from. */
  readonly file: string
  /** Node flags for the pool's workers: `--import <tsx>` for a TypeScript file, else none. */
  readonly execArgv: string[] | undefined
}

/** Resolves `file` against `cwd` and checks that it is a file, before anything is imported. */
export function pipelineFile(file: string, cwd: string): string {
  const path = isAbsolute(file) ? file : resolve(cwd, file)
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new PipelineLoadError('ERR_SPINDLE_MODULE_NOT_FOUND', `Pipeline file ${path} does not exist. Pass the path of a .ts or .js module whose default export is a Pipeline.`, path)
  }
  return path
}

export async function loadPipeline(file: string, cwd: string): Promise<LoadedPipeline> {
  const path = pipelineFile(file, cwd)
  const typescript = TYPESCRIPT.includes(extname(path))
  const execArgv = typescript ? await registerTsx() : undefined
  let module: Record<string, unknown>
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (error) {
    throw new PipelineLoadError(
      'ERR_SPINDLE_PIPELINE_IMPORT',
      `Pipeline file ${path} threw while it was imported: ${error instanceof Error ? error.message : String(error)}`,
      path,
      { cause: error },
    )
  }
  return { pipeline: await pipelineOf(module, path), file: path, execArgv }
}

async function pipelineOf(module: Record<string, unknown>, path: string): Promise<Pipeline> {
  let value = module.default
  if (typeof value === 'function' && !(value.prototype instanceof Pipeline) && value !== Pipeline) {
    try {
      value = await (value as () => unknown)()
    } catch (error) {
      throw new PipelineLoadError(
        'ERR_SPINDLE_PIPELINE_IMPORT',
        `The default export of ${path} threw while making the pipeline: ${error instanceof Error ? error.message : String(error)}`,
        path,
        { cause: error },
      )
    }
  }
  if (value instanceof Pipeline) return value
  const exported = Object.keys(module).filter((k) => k !== 'default')
  const found = value === undefined ? 'it has no default export' : `its default export is ${describe(value)}`
  const others = exported.filter((k) => module[k] instanceof Pipeline)
  throw new PipelineLoadError(
    'ERR_SPINDLE_NO_PIPELINE',
    `${path} exports no pipeline: ${found}.` +
      (others.length > 0 ? ` It exports a Pipeline as ${others.map((k) => `"${k}"`).join(', ')}: add \`export default ${others[0]}\`.` : '') +
      ' Export the Pipeline (or a function returning one) as default: `export default p`.' +
      (looksLikePipeline(value) ? ' (This looks like a Pipeline from another copy of spindle: run the CLI of the spindle the file imports.)' : ''),
    path,
  )
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`
  return `a ${typeof value}`
}

function looksLikePipeline(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as object).constructor?.name === 'Pipeline'
}

let tsxArgv: Promise<string[]> | undefined

/** Registers tsx in this process once; returns the execArgv that makes workers load it too. */
function registerTsx(): Promise<string[]> {
  tsxArgv ??= (async () => {
    const api = (await import('tsx/esm/api')) as { register: () => unknown }
    api.register()
    // The loader's file URL (…/tsx/dist/loader.mjs), so workers need not resolve `tsx` from the cwd.
    return ['--import', import.meta.resolve('tsx')]
  })()
  return tsxArgv
}
