// The contenders of parallel-map.mjs, behind one small interface:
//
//   contender = { name, lib, open: async () => pool }       open() also warms the pool
//   pool      = { map(items, op) -> Promise<results in input order>, close() -> Promise<void> }
//   op        = { fn, chunkFn }  names in fixtures/map-tasks.mjs: the per-item function
//                                (spindle, naive piscina) and its chunk version (hand-chunked)
//
// spindle maps with parallelMap (chunkSize 'auto'; a second contender with callerRuns). The libraries and a raw worker_threads
// pool map by hand, as a user would: the items cut into chunks with slice(), one task per
// chunk, all submitted at once, the results joined in order. Each pool gets exactly `workers`
// threads (min = max) and otherwise its library's default options, as in contenders.mjs.
import { existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import Piscina from 'piscina'
import Tinypool from 'tinypool'
import workerpool from 'workerpool'

const fixture = (file) => new URL(`../fixtures/${file}`, import.meta.url)
const TASKS = fixture('map-tasks.mjs')
const DIST = new URL('../../dist/index.js', import.meta.url)

/**
 * 'raw-thread' on map-tasks.mjs: the design of lib/raw-pool.mjs in pipelined mode (every task
 * posted at once, round robin, results matched back by id). RawPool itself cannot be reused
 * because its worker file, and so its task module, is fixed.
 */
class RawMapPool {
  #workers
  #pending = new Map() // id -> { resolve, reject }
  #nextId = 0
  #closing = false

  constructor(size) {
    this.#workers = Array.from({ length: size }, () => {
      const worker = new Worker(fixture('map-raw-worker.mjs'))
      worker.on('message', (msg) => {
        const task = this.#pending.get(msg.id)
        this.#pending.delete(msg.id)
        if ('error' in msg) task?.reject(new Error(msg.error))
        else task?.resolve(msg.result)
      })
      worker.on('error', (err) => this.#failAll(err))
      worker.on('exit', (code) => this.#closing || this.#failAll(new Error(`raw worker exited with code ${code}`)))
      return worker
    })
  }

  run(fn, arg) {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++
      this.#pending.set(id, { resolve, reject })
      this.#workers[id % this.#workers.length].postMessage({ id, fn, arg })
    })
  }

  async close() {
    this.#closing = true
    await Promise.all(this.#workers.map((w) => w.terminate()))
    this.#failAll(new Error('RawMapPool closed'))
  }

  #failAll(err) {
    for (const task of this.#pending.values()) task.reject(err)
    this.#pending.clear()
  }
}

/** One call interface per library: { run(fn, arg) -> Promise, close() }. */
const LIBS = {
  piscina: (workers) => {
    const pool = new Piscina({ filename: fixture('map-piscina-worker.mjs').href, minThreads: workers, maxThreads: workers })
    return { run: (fn, arg) => pool.run({ fn, arg }), close: () => pool.destroy() }
  },
  tinypool: (workers) => {
    const pool = new Tinypool({ filename: fixture('map-tinypool-worker.mjs').href, minThreads: workers, maxThreads: workers })
    return { run: (fn, arg) => pool.run({ fn, arg }), close: () => pool.destroy() }
  },
  workerpool: (workers) => {
    const pool = workerpool.pool(fixture('map-workerpool-worker.mjs').pathname,
      { minWorkers: workers, maxWorkers: workers, workerType: 'thread' })
    return { run: (fn, arg) => pool.exec(fn, [arg]), close: () => pool.terminate() }
  },
  'raw-thread': (workers) => {
    const pool = new RawMapPool(workers)
    return { run: (fn, arg) => pool.run(fn, arg), close: () => pool.close() }
  },
}

/** As openWarm in contenders.mjs: a burst of no-ops, then 2 short CPU tasks per worker. */
async function warm(run, workers) {
  await Promise.all(Array.from({ length: 200 }, () => run('noop')))
  await Promise.all(Array.from({ length: 2 * workers }, () => run('spin', 1)))
}

/** Runs warmUp on a fresh pool; closes the pool if that fails, so no thread is left behind. */
async function warmed(pool, warmUp) {
  try {
    await warmUp()
    return pool
  } catch (err) {
    await pool.close()
    throw err
  }
}

/** The hand-chunked map: slice, one task per chunk, results joined in input order. */
async function mapChunked(run, items, size, chunkFn) {
  const jobs = []
  for (let i = 0; i < items.length; i += size) jobs.push(run(chunkFn, items.slice(i, i + size)))
  const parts = await Promise.all(jobs)
  if (!ArrayBuffer.isView(items)) return [].concat(...parts)
  const out = new items.constructor(items.length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** The chunk sizes tried for every library, for n items on `workers` workers. */
export function chunkSizes(n, workers) {
  const sizes = [['n/4N', Math.ceil(n / (4 * workers))], ['n/N', Math.ceil(n / workers)], ['fixed', 1000]]
  return sizes.filter(([, size], i) => sizes.findIndex(([, s]) => s === size) === i)
}

/** piscina, tinypool, workerpool and raw-thread, each with every chunk size: one contender per pair. */
export function chunkedContenders(workers, n) {
  return Object.entries(LIBS).flatMap(([lib, make]) => chunkSizes(n, workers).map(([label, size]) => ({
    name: `${lib} chunks of ${size.toLocaleString('en-US')} (${label})`, lib, chunk: size,
    open: async () => {
      const pool = make(workers)
      return warmed({ map: (items, op) => mapChunked(pool.run, items, size, op.chunkFn), close: pool.close },
        () => warm(pool.run, workers))
    },
  })))
}

/** piscina with one task per item, as users write it first: Promise.all(items.map(x => pool.run(x))). */
export function naivePiscina(workers) {
  return { name: 'piscina one task per item', lib: 'piscina naive', open: async () => {
    const pool = LIBS.piscina(workers)
    return warmed({ map: (items, op) => Promise.all(items.map((x) => pool.run(op.fn, x))), close: pool.close },
      () => warm(pool.run, workers))
  } }
}

/**
 * spindle's parallelMap through the built public API, or null (and says why) when dist/ is
 * missing or does not export parallelMap yet, so the baselines can still be measured.
 */
export async function spindleMapContender(workers, { name = 'spindle parallelMap', lib = 'spindle', options = {} } = {}) {
  if (!existsSync(DIST)) {
    console.error('dist/index.js not found (run `npm run build`): measuring the baselines only')
    return null
  }
  const { Compute, remote, gather, parallelMap } = await import(DIST.href)
  if (typeof parallelMap !== 'function') {
    console.error('dist/index.js does not export parallelMap: measuring the baselines only')
    return null
  }
  const t = remote(TASKS)
  return { name, lib, open: async () => {
    const compute = await Compute.start({ workers })
    return warmed({ map: (items, op) => parallelMap(items, t[op.fn], { compute, ...options }), close: () => compute.close() },
      async () => {
        await compute.run(gather(...Array.from({ length: 200 }, () => t.noop())))
        await compute.run(gather(...Array.from({ length: 2 * workers }, () => t.spin(1))))
      })
  } }
}
