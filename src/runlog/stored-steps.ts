/**
 * Reading a run's steps and outputs back, in either layout (records.ts): the journal and output
 * files of version 2, or version 1's file per step. Every output's bytes are checked against the
 * hash its record keeps, so one changed on disk is `ERR_SPINDLE_CORRUPT_RUN`, never a wrong value.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { deserialize } from 'node:v8'
import { SpindleError, UnknownStepError } from '../errors.js'
import { isTempFile } from './atomic-file.js'
import { decodeJournal, decodeStep, stepFileBase, type RecordedStep, type RunFile } from './records.js'
import { JOURNAL_FILE, OUTPUTS_DIR, STEPS_DIR } from './run-writer.js'
import { checkStored, sha256, type StoredValue } from './stored-value.js'

/** Every step recorded in the run at `runDir`, by name. */
export function readRecorded(runDir: string, file: RunFile): Map<string, RecordedStep> {
  if (file.version < 2) return readStepFiles(join(runDir, STEPS_DIR))
  const where = join(runDir, JOURNAL_FILE)
  return decodeJournal(readIfExists(where) ?? '', where)
}

/** Version 1: a file per step. Temporary files (`.x.json.<rand>.tmp`) of a writer killed before its rename are not records. */
function readStepFiles(stepsDir: string): Map<string, RecordedStep> {
  const steps = new Map<string, RecordedStep>()
  for (const entry of readdirIfExists(stepsDir)) {
    if (!entry.endsWith('.json') || entry.startsWith('.') || isTempFile(entry)) continue
    const where = join(stepsDir, entry)
    const recorded = decodeStep(readFileSync(where, 'utf8'), where)
    steps.set(recorded.step.name, recorded)
  }
  return steps
}

/** A succeeded step's output as stored: its checked bytes, and the file holding them when it has one of its own. */
export function readStoredOutput(runDir: string, file: RunFile, name: string, recorded: ReadonlyMap<string, RecordedStep>): StoredValue {
  const { step, inline } = recorded.get(name) ?? unknownStep(file.id, name, recorded)
  if (!step.hasOutput) {
    const why =
      step.status !== 'succeeded'
        ? `it ${step.status === 'failed' ? 'failed' : `is ${step.status}`}`
        : step.outputError !== undefined
          ? `its output could not be serialized (${step.outputError})`
          : 'it succeeded without an output being recorded'
    throw new SpindleError('ERR_SPINDLE_NO_OUTPUT', `Step "${name}" of run "${file.id}" has no stored output: ${why}.`)
  }
  const legacy = file.version < 2
  const where =
    inline !== undefined ? `${join(runDir, JOURNAL_FILE)} (its line)` : legacy ? join(runDir, STEPS_DIR, `${stepFileBase(name)}.out`) : join(runDir, OUTPUTS_DIR, `${step.outputHash}.v8`)
  const damaged = (why: string, cause?: unknown) =>
    new SpindleError('ERR_SPINDLE_CORRUPT_RUN', `Step "${name}" of run "${file.id}" records an output, but ${where} ${why}.`, cause === undefined ? undefined : { cause })
  const changed = () => damaged('has changed since it was recorded (its content hash differs)')
  if (inline !== undefined) {
    const body = Buffer.from(inline, 'base64')
    if (sha256(body) !== step.outputHash) throw changed()
    return { hash: step.outputHash, body }
  }
  let bytes: Buffer | undefined
  try {
    bytes = readIfExists(where, null)
  } catch (error) {
    throw damaged(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, error)
  }
  if (bytes === undefined) throw damaged('is missing')
  if (legacy) {
    // Raw bytes; records from before hashes were kept have none to check.
    if (step.outputHash !== undefined && sha256(bytes) !== step.outputHash) throw changed()
    return { hash: step.outputHash ?? sha256(bytes), body: bytes }
  }
  const checked = checkStored(bytes)
  if (checked === undefined || checked.hash !== step.outputHash) throw changed()
  return { ...checked, file: where }
}

/** A stored output's value, deserialized afresh. */
export function deserializeOutput(runId: string, name: string, stored: StoredValue): unknown {
  try {
    return deserialize(stored.body)
  } catch (error) {
    throw new SpindleError('ERR_SPINDLE_CORRUPT_RUN', `Step "${name}" of run "${runId}" records an output that cannot be deserialized (${(error as Error).message}).`, { cause: error })
  }
}

function unknownStep(id: string, name: string, recorded: ReadonlyMap<string, RecordedStep>): never {
  const names = [...recorded.keys()]
  const known = names.length === 0 ? 'No step is recorded yet.' : `Recorded steps: ${names.join(', ')}.`
  throw new UnknownStepError(`Run "${id}" has no recorded step "${name}". ${known}`, name)
}

export function readIfExists(path: string): string | undefined
export function readIfExists(path: string, encoding: null): Buffer | undefined
export function readIfExists(path: string, encoding: 'utf8' | null = 'utf8'): string | Buffer | undefined {
  try {
    return readFileSync(path, encoding === null ? undefined : encoding)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw error
  }
}

export function readdirIfExists(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw error
  }
}
