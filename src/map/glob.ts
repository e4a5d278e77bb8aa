/**
 * glob(): file names matching patterns, as a lazy source of items for parallelMap, built on
 * fast-glob's stream so a directory of a million files is read as the map consumes it.
 */
import { stat } from 'node:fs/promises'
import fg from 'fast-glob'
import { InvalidOptionError } from '../errors.js'
import { checkKnownKeys, shown } from '../options.js'

export interface GlobOptions {
  /** The directory the patterns (and `ignore`) are relative to. @default process.cwd() */
  cwd?: string
  /** Yield absolute paths, usable by a worker whatever its working directory. @default true */
  absolute?: boolean
  /** Patterns of files to leave out, e.g. `['*.tmp', 'old/**']`. @default [] */
  ignore?: string[]
  /** Let `*` and `**` match names that start with a dot. @default false */
  dot?: boolean
}

const GLOB_KEYS = ['cwd', 'absolute', 'ignore', 'dot']

/**
 * The files matching `patterns`, as a file source for parallelMap:
 * `parallelMap(glob('data/*.csv'), t.summarize)`.
 *
 * Matches are read lazily from fast-glob's stream, as the map pulls items, in no particular
 * order (parallelMap keeps the order they came in). Only files match, not directories. Each
 * iteration globs afresh. Arguments are checked at once; a `cwd` that does not exist fails the
 * iteration (rather than matching nothing).
 */
export function glob(patterns: string | string[], options: GlobOptions = {}): AsyncIterable<string> {
  const list = typeof patterns === 'string' ? [patterns] : patterns
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new InvalidOptionError(`Expected \`patterns\` to be a glob pattern or an array of them (non-empty strings), got ${describe(patterns)}`)
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`Expected glob() options to be an object, got ${shown(options)}`)
  }
  checkKnownKeys('glob()', options, GLOB_KEYS)
  const { cwd, absolute = true, ignore = [], dot = false } = options
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd.length === 0)) {
    throw new InvalidOptionError(`Expected \`cwd\` to be a directory path, got ${shown(cwd)}`)
  }
  checkBoolean('absolute', absolute)
  checkBoolean('dot', dot)
  if (!Array.isArray(ignore) || ignore.some((p) => typeof p !== 'string')) {
    throw new InvalidOptionError(`Expected \`ignore\` to be an array of glob patterns, got ${describe(ignore)}`)
  }
  const settings: fg.Options = { absolute, dot, ignore: [...ignore], onlyFiles: true, ...(cwd !== undefined && { cwd }) }
  const frozen = [...list]
  return { [Symbol.asyncIterator]: () => matches(frozen, settings) }
}

async function* matches(patterns: string[], settings: fg.Options): AsyncGenerator<string> {
  if (settings.cwd !== undefined) await checkDirectory(settings.cwd)
  // Leaving the loop early (a failed or aborted map) destroys the stream, which stops the walk.
  for await (const entry of fg.stream(patterns, settings) as AsyncIterable<string | Buffer>) yield String(entry)
}

async function checkDirectory(cwd: string): Promise<void> {
  const info = await stat(cwd).catch(() => undefined)
  if (info?.isDirectory() !== true) {
    throw new InvalidOptionError(`glob(): \`cwd\` ${JSON.stringify(cwd)} ${info === undefined ? 'does not exist' : 'is not a directory'}`)
  }
}

function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new InvalidOptionError(`Expected \`${name}\` to be a boolean, got ${shown(value)}`)
}

function describe(value: unknown): string {
  return Array.isArray(value) ? `\`${JSON.stringify(value)}\` (array)` : shown(value)
}
