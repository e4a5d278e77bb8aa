/**
 * A run's journal: an append-only file of step records, written by group commit.
 *
 * One fsync per step record caps a run at ~1,000 steps/s, and renaming a file per record costs
 * two. Here records go to memory first; a batch of every record made since the last one is
 * appended with one write and one `fdatasync` (on libuv's thread pool: the run goes on meanwhile),
 * and the records made during that sync form the next batch. Steps ending close together share a
 * sync, so a run of fast steps pays one per ~1 ms, not one per step, and a slow run still gets
 * each record on disk within one sync of its step's end.
 *
 * The durability rule: a record is on disk once the batch holding it is synced, and
 * `afterDurable(fn)` runs `fn` only then (at once when nothing is waiting). Callbacks run in the
 * order they were given, whichever batch they wait for, so events passed through it keep their
 * order. What a reader finds after a crash is every synced batch and a prefix of the next; a
 * record nobody was told about may be there too, never the other way round.
 *
 * Outputs too large to sit in a record line are stored beside it as files (stored-value.ts), each
 * placed and fdatasynced and their directory fsynced before the batch that names them is written.
 * A failed write (a full disk) fails the journal: nothing of it is reported durable, and the next
 * `append` or `flush` throws the error.
 */
import { closeSync, fdatasync, write } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { SpindleError } from '../errors.js'
import { fsyncDirectory } from './atomic-file.js'
import { placeStored, type StoredValue } from './stored-value.js'

const writeAsync = promisify(write)
const datasyncAsync = promisify(fdatasync)

interface Batch {
  readonly lines: string[]
  readonly values: StoredValue[]
  readonly callbacks: Array<() => void>
  readonly waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>
}

const newBatch = (): Batch => ({ lines: [], values: [], callbacks: [], waiters: [] })

export class Journal {
  readonly #fd: number
  readonly #path: string
  readonly #outputsDir: string
  /** Records given since the batch in flight began: the next batch. */
  #next: Batch | undefined
  #inFlight: Batch | undefined
  #error: SpindleError | undefined
  /** Hashes of output files placed or on their way, so equal outputs are stored once per run. */
  readonly #placed = new Set<string>()

  /** `fd`: the journal file, opened for appending. */
  constructor(fd: number, path: string, outputsDir: string) {
    this.#fd = fd
    this.#path = path
    this.#outputsDir = outputsDir
  }

  /** Queues a record line (it must end in `\n`), and the output file it names, if any. Throws once a write has failed. */
  append(line: string, value?: StoredValue): void {
    if (this.#error !== undefined) throw this.#error
    if (this.#next === undefined) {
      this.#next = newBatch()
      // Started on the next turn of the event loop, so every record made in this one joins it.
      if (this.#inFlight === undefined) setImmediate(() => this.#start())
    }
    this.#next.lines.push(line)
    if (value !== undefined && !this.#placed.has(value.hash)) {
      this.#placed.add(value.hash)
      this.#next.values.push(value)
    }
  }

  /** Runs `fn` once every record appended so far is on disk: now, if none is waiting. Never, if the write fails. */
  afterDurable(fn: () => void): void {
    if (this.#error !== undefined) return
    const waiting = this.#next ?? this.#inFlight
    if (waiting === undefined) fn()
    else waiting.callbacks.push(fn)
  }

  /** Settles once every record appended so far is on disk; rejects with the write's error. */
  flush(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error)
    const waiting = this.#next ?? this.#inFlight
    if (waiting === undefined) return Promise.resolve()
    return new Promise((resolve, reject) => waiting.waiters.push({ resolve, reject }))
  }

  /** Waits for every record, then closes the file. */
  async close(): Promise<void> {
    try {
      await this.flush()
    } finally {
      closeSync(this.#fd)
    }
  }

  #start(): void {
    const batch = this.#next
    if (batch === undefined || this.#inFlight !== undefined) return
    this.#next = undefined
    this.#inFlight = batch
    this.#write(batch).then(
      () => {
        this.#inFlight = undefined
        for (const fn of batch.callbacks) fn()
        for (const waiter of batch.waiters) waiter.resolve()
        this.#start()
      },
      (error: unknown) => this.#fail(error),
    )
  }

  async #write(batch: Batch): Promise<void> {
    if (batch.values.length > 0) {
      await Promise.all(batch.values.map((value) => placeStored(join(this.#outputsDir, `${value.hash}.v8`), value)))
      fsyncDirectory(this.#outputsDir)
    }
    const bytes = Buffer.from(batch.lines.join(''), 'utf8')
    for (let written = 0; written < bytes.length; ) written += (await writeAsync(this.#fd, bytes, written, bytes.length - written, null)).bytesWritten
    await datasyncAsync(this.#fd)
  }

  #fail(cause: unknown): void {
    this.#error = new SpindleError(
      'ERR_SPINDLE_RUN_LOG_WRITE',
      `Cannot write the run log ${this.#path}: ${(cause as Error).message}. Steps recorded since the last write are not on disk; ` +
        'free space or fix permissions there, or run with `runLog: false`.',
      { cause },
    )
    for (const batch of [this.#inFlight, this.#next]) for (const waiter of batch?.waiters ?? []) waiter.reject(this.#error)
    this.#inFlight = undefined
    this.#next = undefined
  }
}
