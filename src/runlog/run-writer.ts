/**
 * Writing one run's records as it goes: each step's record (and output) when it ends, into the
 * run's journal (journal.ts, one fsync per batch of records), and the run's end. Made by
 * `RunLog.begin()`; the file layout is described in records.ts.
 */
import { join } from 'node:path'
import { SpindleError } from '../errors.js'
import { writeFileAtomic } from './atomic-file.js'
import { Journal } from './journal.js'
import { countSteps, encodeRun, encodeStep, INLINE_MAX, type RunFile, type RunStatus, type StepRecordData, type StepStatus } from './records.js'
import { serializeValue, type StoredValue } from './stored-value.js'
import type { PoolStartBand } from './step-times.js'

export const RUN_FILE = 'run.json'
export const JOURNAL_FILE = 'steps.jsonl'
export const OUTPUTS_DIR = 'outputs'
/** Version 1's directory of step files. */
export const STEPS_DIR = 'steps'

/** A succeeded step's output: a value to serialize, or one already serialized (a cache entry, a resumed run's output). */
export type StepOutput = { readonly value: unknown } | { readonly stored: StoredValue }

/** Writes one run's records as it goes. Made by `RunLog.begin()`. */
export class RunWriter {
  readonly id: string
  /** The run's own directory. */
  readonly dir: string
  #run: RunFile
  readonly #journal: Journal
  readonly #statuses = new Map<string, StepStatus>()
  #finished = false

  /** @internal `journalFd`: the run's journal, open for appending. */
  constructor(dir: string, run: RunFile, journalFd: number) {
    this.dir = dir
    this.id = run.id
    this.#run = run
    this.#journal = new Journal(journalFd, join(dir, JOURNAL_FILE), join(dir, OUTPUTS_DIR))
  }

  /**
   * Records a step (again, when it changes: the latest record of a name is the one read back).
   * With an output and status `succeeded`, the output is stored with it; one that `v8.serialize`
   * rejects (a function, a class with native state) is not stored and the record says why.
   *
   * The record is on disk once its batch is synced: `afterDurable` and `flush` say when. A write
   * that failed makes this throw (`ERR_SPINDLE_RUN_LOG_WRITE`).
   */
  step(record: StepRecordData, output?: StepOutput): void {
    this.#checkOpen()
    let stored: StoredValue | undefined
    let outputError: string | undefined
    if (output !== undefined && record.status === 'succeeded') {
      try {
        stored = 'stored' in output ? output.stored : serializeValue(output.value)
      } catch (error) {
        outputError = error instanceof Error ? error.message : String(error)
      }
    }
    const inline = stored !== undefined && stored.body.length <= INLINE_MAX
    const ref = stored === undefined ? undefined : { hash: stored.hash, inline: inline ? stored.body : undefined }
    this.#journal.append(encodeStep(record, ref, outputError), inline ? undefined : stored)
    this.#statuses.set(record.name, record.status)
  }

  /** Runs `fn` once every step recorded so far is on disk (at once if they are); never if writing them failed. */
  afterDurable(fn: () => void): void {
    this.#journal.afterDurable(fn)
  }

  /** Settles once every step recorded so far is on disk. */
  flush(): Promise<void> {
    return this.#journal.flush()
  }

  /**
   * Marks the run ended, with the step counts `list()` shows and the pool's start-up, once every
   * step record is on disk.
   * Nothing can be recorded after.
   */
  async finish(status: RunStatus, endedAt: number, poolStart?: readonly PoolStartBand[]): Promise<void> {
    this.#checkOpen()
    this.#finished = true
    await this.#journal.close()
    const counts = countSteps(this.#run.steps, this.#statuses)
    this.#run = { ...this.#run, status, endedAt, counts, ...(poolStart !== undefined && poolStart.length > 0 && { poolStart }) }
    writeFileAtomic(join(this.dir, RUN_FILE), encodeRun(this.#run))
  }

  #checkOpen(): void {
    if (this.#finished) throw new SpindleError('ERR_SPINDLE_CLOSED', `Run "${this.id}" is finished; nothing more can be recorded in it.`)
  }
}
