/**
 * The `runLog` option of `pipeline.run()`: where runs are recorded, and how many to keep.
 * `'path'` moves the log, `false` turns it off, `{ dir, keep }` also prunes: after each run, the
 * pipeline's runs beyond the newest `keep` are removed (prune.ts; a run still marked running is
 * kept). Checked before any work, in p-map's style.
 */
import { InvalidOptionError } from '../errors.js'
import { checkKnownKeys, shown } from '../options.js'

export interface RunLogOptions {
  /** Directory of run records. @default '.spindle/runs' */
  dir?: string
  /** After each run, keep only the newest `keep` runs of this pipeline (an integer >= 1). */
  keep?: number
}

/** `dir`: a directory, `undefined` for the default, or `false` for no run log. */
export function runLogOptions(option: unknown): { dir: string | false | undefined; keep: number | undefined } {
  if (option === undefined || option === false) return { dir: option, keep: undefined }
  if (typeof option === 'string' && option !== '') return { dir: option, keep: undefined }
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidOptionError(`Expected \`runLog\` to be a directory, \`false\` or \`{ dir, keep }\`, got ${shown(option)}`)
  }
  checkKnownKeys('runLog', option, ['dir', 'keep'])
  const { dir, keep } = option as RunLogOptions
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) {
    throw new InvalidOptionError(`Expected \`runLog.dir\` to be a directory path, got ${shown(dir)}`)
  }
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1)) {
    throw new InvalidOptionError(
      `Expected \`runLog.keep\` to be an integer >= 1 (the newest runs of the pipeline to keep), got ${shown(keep)}. ` +
        'Leave it out to keep every run, or use `runLog: false` to record none.',
    )
  }
  return { dir, keep }
}
