// The pools under test, all behind one small interface so every bench script treats
// them alike:
//
//   contender = { name, open: async () => pool }
//   pool      = { run(fn, arg) -> Promise<result>,          one call
//                 batch(fn, arg, n) -> Promise<result[]>,   n calls submitted at once
//                 close() -> Promise<void> }
//
// Each pool gets exactly `workers` threads (min = max) and otherwise its library's
// default options, since defaults are what users get.
import { existsSync } from 'node:fs'
import Piscina from 'piscina'
import Tinypool from 'tinypool'
import workerpool from 'workerpool'
import { RawPool } from './raw-pool.mjs'

const fixture = (file) => new URL(`../fixtures/${file}`, import.meta.url)
const TASKS = fixture('tasks.mjs')
const DIST = new URL('../../dist/index.js', import.meta.url)

/** Libraries have no batch call: n individual calls and Promise.all, as users would write. */
function batchOfRuns(run) {
  return (fn, arg, n) => Promise.all(Array.from({ length: n }, () => run(fn, arg)))
}

/**
 * spindle through its built public API. Returns null (and says so) when dist/ has not
 * been built, so the baselines can still be measured; any other import error is thrown.
 */
export async function spindleContenders(workers) {
  if (!existsSync(DIST)) {
    console.error('dist/index.js not found (run `npm run build`): measuring the baselines only')
    return []
  }
  const { remote, gather, Compute } = await import(DIST.href)
  const t = remote(TASKS)
  // Pending descriptions are built inside the timed region: users pay for them too.
  const call = (fn, arg) => (arg === undefined ? t[fn]() : t[fn](arg))
  const open = async () => {
    const compute = await Compute.start({ workers })
    return {
      run: (fn, arg) => compute.run(call(fn, arg)),
      // The batch API: one gather of n pending calls, one result array.
      batch: (fn, arg, n) => compute.run(gather(...Array.from({ length: n }, () => call(fn, arg)))),
      close: () => compute.close(),
    }
  }
  return [
    { name: 'spindle', open, spindle: true },
    // Same pool, but n separate compute.run() calls: what a user gets without gather().
    { name: 'spindle run()×n', open: async () => {
      const pool = await open()
      return { ...pool, batch: batchOfRuns(pool.run) }
    }, spindle: true, info: true },
  ]
}

export function anchorContenders(workers) {
  return [
    { name: 'piscina', open: async () => {
      const pool = new Piscina({ filename: fixture('piscina-worker.mjs').href, minThreads: workers, maxThreads: workers })
      const run = (fn, arg) => pool.run({ fn, arg })
      return { run, batch: batchOfRuns(run), close: () => pool.destroy() }
    } },
    { name: 'tinypool', open: async () => {
      const pool = new Tinypool({ filename: fixture('tinypool-worker.mjs').href, minThreads: workers, maxThreads: workers })
      const run = (fn, arg) => pool.run({ fn, arg })
      return { run, batch: batchOfRuns(run), close: () => pool.destroy() }
    } },
    { name: 'workerpool', open: async () => {
      // workerType 'thread' is what 'auto' picks in Node; spelled out so it cannot drift.
      const pool = workerpool.pool(fixture('workerpool-worker.mjs').pathname,
        { minWorkers: workers, maxWorkers: workers, workerType: 'thread' })
      const run = (fn, arg) => pool.exec(fn, arg === undefined ? [] : [arg])
      return { run, batch: batchOfRuns(run), close: () => pool.terminate() }
    } },
  ]
}

export function rawContenders(workers) {
  const raw = (name, pipeline) => ({ name, open: async () => {
    const pool = new RawPool(workers, { pipeline })
    const run = (fn, arg) => pool.run(fn, arg)
    return { run, batch: batchOfRuns(run), close: () => pool.close() }
  } })
  return [raw('raw-thread', true), raw('raw-thread-1', false)]
}

/**
 * Opens a contender's pool and warms it, so thread start-up is not measured: a burst of
 * no-ops, then 2 short CPU tasks per worker, which a pool can only finish quickly by
 * having every worker up.
 */
export async function openWarm(contender, workers) {
  const pool = await contender.open()
  await pool.batch('noop', undefined, 200)
  await pool.batch('spin', 1, 2 * workers)
  return pool
}
