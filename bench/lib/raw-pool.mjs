// A minimal hand-written worker_threads pool: the baseline every library is compared to.
//
//   new RawPool(n)                      'raw-thread': pipelined. Every task is posted at once,
//                                       round robin, no limit on tasks in flight; results are
//                                       matched back by id. The practical floor of per-message cost.
//   new RawPool(n, { pipeline: false }) 'raw-thread-1': one task in flight per worker, the rest
//                                       wait in a FIFO queue, which is what the libraries do.
//
// Small on purpose: anything a library does beyond this is overhead to be explained.
import { Worker } from 'node:worker_threads'

const WORKER_FILE = new URL('../fixtures/raw-worker.mjs', import.meta.url)

export class RawPool {
  #workers = []
  #idle = [] // only used when not pipelining
  #queue = [] // FIFO with a moving head: Array.shift() is O(n) on long queues
  #head = 0
  #pending = new Map() // id -> task, for tasks posted to a worker
  #nextId = 0
  #rr = 0
  #closing = false

  constructor(size, { pipeline = true } = {}) {
    if (!(size >= 1)) throw new RangeError(`RawPool size must be >= 1, got ${size}`)
    this.pipeline = pipeline
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_FILE)
      worker.on('message', (msg) => this.#settle(worker, msg))
      worker.on('error', (err) => this.#failAll(err))
      worker.on('exit', (code) => {
        if (!this.#closing) this.#failAll(new Error(`raw worker exited with code ${code}`))
      })
      this.#workers.push(worker)
      this.#idle.push(worker)
    }
  }

  /** Runs tasks[fn](arg) in a worker; resolves with its return value. */
  run(fn, arg) {
    if (this.#closing) return Promise.reject(new Error('RawPool is closed'))
    return new Promise((resolve, reject) => {
      const task = { id: this.#nextId++, fn, arg, resolve, reject }
      if (this.pipeline) {
        this.#send(this.#workers[this.#rr], task)
        this.#rr = (this.#rr + 1) % this.#workers.length
      } else if (this.#idle.length > 0) {
        this.#send(this.#idle.pop(), task)
      } else {
        this.#queue.push(task)
      }
    })
  }

  /** Terminates every worker; tasks still outstanding are rejected. */
  async close() {
    this.#closing = true
    await Promise.all(this.#workers.map((w) => w.terminate()))
    this.#failAll(new Error('RawPool closed'))
  }

  #send(worker, task) {
    this.#pending.set(task.id, task)
    worker.postMessage({ id: task.id, fn: task.fn, arg: task.arg })
  }

  #settle(worker, msg) {
    const task = this.#pending.get(msg.id)
    if (task === undefined) return // already failed by #failAll
    this.#pending.delete(msg.id)
    if ('error' in msg) task.reject(new Error(msg.error))
    else task.resolve(msg.result)
    if (!this.pipeline) {
      const next = this.#dequeue()
      if (next) this.#send(worker, next)
      else this.#idle.push(worker)
    }
  }

  #dequeue() {
    if (this.#head === this.#queue.length) return undefined
    const task = this.#queue[this.#head]
    this.#queue[this.#head++] = undefined
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0
      this.#head = 0
    }
    return task
  }

  // A crashed worker or a close with work outstanding: nothing may hang silently.
  #failAll(err) {
    for (const task of this.#pending.values()) task.reject(err)
    this.#pending.clear()
    for (let t; (t = this.#dequeue()); ) t.reject(err)
  }
}
