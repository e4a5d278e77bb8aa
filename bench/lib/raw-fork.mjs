// A minimal hand-written child_process pool: the baseline for the process backend.
//
//   new RawForkPool(n)   'raw-fork': n children from child_process.fork, IPC with
//                        serialization 'advanced' (structured clone, as worker threads use),
//                        one task in flight per child, the rest wait in a FIFO queue.
//
// Small on purpose, like raw-pool.mjs. close() kills every child and waits for its exit.
import { fork } from 'node:child_process'

const CHILD_FILE = new URL('../fixtures/raw-fork-child.mjs', import.meta.url)

export class RawForkPool {
  #children = []
  #idle = []
  #queue = [] // FIFO with a moving head: Array.shift() is O(n) on long queues
  #head = 0
  #pending = new Map() // id -> task, for tasks sent to a child
  #nextId = 0
  #closing = false

  constructor(size) {
    if (!(size >= 1)) throw new RangeError(`RawForkPool size must be >= 1, got ${size}`)
    for (let i = 0; i < size; i++) {
      const child = fork(CHILD_FILE, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      child.exited = new Promise((resolve) => child.once('exit', resolve))
      child.on('message', (msg) => this.#settle(child, msg))
      child.on('error', (err) => this.#failAll(err))
      child.on('exit', (code, signal) => {
        if (!this.#closing) this.#failAll(new Error(`raw child exited with code ${code} (${signal})`))
      })
      this.#children.push(child)
      this.#idle.push(child)
    }
  }

  /** Runs tasks[fn](arg) in a child; resolves with its return value. */
  run(fn, arg) {
    if (this.#closing) return Promise.reject(new Error('RawForkPool is closed'))
    return new Promise((resolve, reject) => {
      const task = { id: this.#nextId++, fn, arg, resolve, reject }
      if (this.#idle.length > 0) this.#send(this.#idle.pop(), task)
      else this.#queue.push(task)
    })
  }

  /** Kills every child and waits for it to exit; tasks still outstanding are rejected. */
  async close() {
    this.#closing = true
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill()
    }
    await Promise.all(this.#children.map((c) => c.exited))
    this.#failAll(new Error('RawForkPool closed'))
  }

  #send(child, task) {
    this.#pending.set(task.id, task)
    child.send({ id: task.id, fn: task.fn, arg: task.arg })
  }

  #settle(child, msg) {
    const task = this.#pending.get(msg.id)
    if (task === undefined) return // already failed by #failAll
    this.#pending.delete(msg.id)
    if ('error' in msg) task.reject(new Error(msg.error))
    else task.resolve(msg.result)
    const next = this.#dequeue()
    if (next) this.#send(child, next)
    else this.#idle.push(child)
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

  // A crashed child or a close with work outstanding: nothing may hang silently.
  #failAll(err) {
    for (const task of this.#pending.values()) task.reject(err)
    this.#pending.clear()
    for (let t; (t = this.#dequeue()); ) t.reject(err)
  }
}
