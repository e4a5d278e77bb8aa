/**
 * Writing one run's records as it goes: each step's record (and output) when it changes, and the
 * run's end. Made by `RunLog.begin()`; the file layout is described in run-log.ts.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { serialize } from 'node:v8'
import { SpindleError } from '../errors.js'
import { writeFileAtomic } from './atomic-file.js'
import { countSteps, encodeRun, encodeStep, stepFileBase, type RunFile, type RunStatus, type StepRecordData, type StepStatus } from './records.js'

export const RUN_FILE = 'run.json'
export const STEPS_DIR = 'steps'

/** Writes one run's records as it goes. Made by `RunLog.begin()`. */
export class RunWriter {
  readonly id: string
  /** The run's own directory. */
  readonly dir: string
  #run: RunFile
  readonly #statuses = new Map<string, StepStatus>()
  #finished = false

  /** @internal */
  constructor(dir: string, run: RunFile) {
    this.dir = dir
    this.id = run.id
    this.#run = run
  }

  /**
   * Records a step (again, when it changes: each call replaces the step's file). With an output
   * and status `succeeded`, the output is stored first; one that `v8.serialize` rejects (a
   * function, a class with native state) is not stored and the record says why.
   */
  step(record: StepRecordData, output?: { value: unknown }): void {
    this.#checkOpen()
    const base = join(this.dir, STEPS_DIR, stepFileBase(record.name))
    let outputHash: string | undefined
    let outputError: string | undefined
    if (output !== undefined && record.status === 'succeeded') {
      let bytes: Buffer | undefined
      try {
        bytes = serialize(output.value)
      } catch (error) {
        outputError = error instanceof Error ? error.message : String(error)
      }
      if (bytes !== undefined) {
        writeFileAtomic(`${base}.out`, bytes)
        outputHash = createHash('sha256').update(bytes).digest('hex')
      }
    }
    writeFileAtomic(`${base}.json`, encodeStep(record, outputHash, outputError))
    this.#statuses.set(record.name, record.status)
  }

  /** Marks the run ended, with the step counts `list()` shows. Nothing can be recorded after. */
  finish(status: RunStatus, endedAt: number): void {
    this.#checkOpen()
    const counts = countSteps(this.#run.steps, this.#statuses)
    this.#run = { ...this.#run, status, endedAt, counts }
    writeFileAtomic(join(this.dir, RUN_FILE), encodeRun(this.#run))
    this.#finished = true
  }

  #checkOpen(): void {
    if (this.#finished) throw new SpindleError('ERR_SPINDLE_CLOSED', `Run "${this.id}" is finished; nothing more can be recorded in it.`)
  }
}
