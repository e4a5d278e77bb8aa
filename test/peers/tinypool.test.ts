// tinypool's own test suite (test/*.test.ts in tinylibs/tinypool), ported: its two runtimes,
// worker_threads and child_process, are spindle's thread and process backends. Each case names
// the tinypool test it came from.
//
// No counterpart in spindle, so not ported:
// - isolation.test.ts, teardown.test.ts, resource-limits "recycled after maxMemoryLimitBeforeRecycle":
//   spindle keeps its workers (no isolateWorkers, no recycling); a worker is replaced only when it dies.
// - idle-timeout.test.ts, options.test.ts "fractional thread limits": a fixed number of nodes
//   (a fraction is refused, below); an idle pool never keeps the process alive.
// - move.test.ts: no transferList; a SharedArrayBuffer is shared on threads, the rest copied.
// - task-queue "maxQueue", "custom task queue", "tasks can share a Worker (concurrentTasksPerWorker)":
//   the dispatcher's queue is internal and unbounded; async calls of a batch run concurrently.
// - runtime "sets tinypool state", "channel is closed when isolated", "can send messages to port":
//   no per-task channel; instanceInfo() says where a call runs.
// - termination "termination timeout throws when worker does not terminate": spindle's close()
//   gives running calls `closeTimeout`, then stops them (below).
// - async-context.test.ts, globals.test.ts, atomic "coverage for Atomics optimization": internals.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Compute, gather, type ComputeOptions } from 'spindle'
import { tasks as t, usePools } from '../helpers/pools.js'
import { alive } from '../helpers/processes.js'

const RUNTIMES = [
  { runtime: 'worker_threads', options: { backend: 'thread', workers: 2 } },
  { runtime: 'child_process', options: { backend: 'process', workers: 2 } },
] as const satisfies ReadonlyArray<{ runtime: string; options: ComputeOptions }>

describe.each(RUNTIMES)('tinypool, runtime $runtime', ({ runtime, options }) => {
  const start = usePools()
  let dir = ''
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'spindle-peer-tinypool-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const runsIn = (file: string) => (existsSync(file) ? statSync(file).size : 0)

  it('simple "basic test", runtime "runs code in worker_threads / child_process"', async () => {
    const pool = await start(options)
    expect(await pool.run(t.add(11, 12))).toBe(23)
    const pid = await pool.run(t.pid())
    if (runtime === 'worker_threads') expect(pid).toBe(process.pid)
    else expect(pid).not.toBe(process.pid)
  })

  it('runtime "threadId / workerId is the pool\'s own": instanceInfo() names the node a call was pinned to', async () => {
    const pool = await start(options)
    const infos = await Promise.all([0, 1].map((node) => pool.run(t.info(), { node })))
    expect(infos.map((i) => [i.node, i.totalNodes, i.backend])).toEqual([
      [0, 2, options.backend],
      [1, 2, options.backend],
    ])
  })

  it('runtime "errors are serialized": name, message, stack, code, cause and own fields cross', async () => {
    const pool = await start(options)
    const error = await pool.run(t.fail('bad input')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(error).toMatchObject({ message: 'bad input', code: 'E_TASK', details: { attempt: 1 } })
    expect((error as Error).stack).toContain('fail')
    const caused = (await pool.run(t.rejectWithCause()).catch((e: unknown) => e)) as Error
    expect(caused.cause).toBeInstanceOf(RangeError)
    await expect(pool.run(t.throwString())).rejects.toBe('plain string')
  })

  it('task-queue "will put items into a task queue until they can run": never more running than workers', async () => {
    const pool = await start(options)
    const running = join(dir, 'running')
    expect(await pool.run(gather(...Array.from({ length: 8 }, () => t.concurrentFile(running, 30))))).toEqual(Array(8).fill(1))
    const seen = readFileSync(`${running}.max`, 'utf8').trim().split('\n').map(Number)
    expect(Math.max(...seen)).toBeLessThanOrEqual(2)
    expect(seen).toHaveLength(8)
  })

  it('task-queue "queued tasks can be cancelled": the cancelled call never runs', async () => {
    const pool = await start({ ...options, workers: 1 })
    const started = join(dir, 'started')
    const release = join(dir, 'release')
    const holding = pool.run(t.holdUntilFile(started, release))
    while (!existsSync(started) || readdirSync(started).length === 0) await new Promise((resolve) => setTimeout(resolve, 2))
    const controller = new AbortController()
    const counter = join(dir, 'runs')
    const queued = pool.run(t.countRunFile(counter), { signal: controller.signal })
    controller.abort(new Error('cancelled'))
    await expect(queued).rejects.toThrow('cancelled')
    // On the process backend the take-back is a message the held worker must not outrun: the
    // next call is sent only once the cancelled one's slot has come back.
    const after = pool.run(t.add(1, 1))
    while (pool.stats().queued > 0) await new Promise((resolve) => setTimeout(resolve, 2)) // polling, not an oracle
    writeFileSync(release, '')
    expect(await holding).toBe('released')
    expect(await after).toBe(2)
    expect(runsIn(counter)).toBe(0)
  })

  it('pool-destroy "can destroy pool while tasks are running"', async () => {
    const pool = await Compute.start({ ...options, closeTimeout: 50 })
    const pids = await pool.broadcast(t.pid())
    const runaway = pool.run(t.loopForever()).catch((e: unknown) => e) // handled now: it settles during close()
    await new Promise((resolve) => setTimeout(resolve, 20))
    await pool.close()
    expect(await runaway).toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
    if (runtime === 'child_process') for (const pid of pids) expect(alive(pid)).toBe(false)
  })

  it('pool-destroy "destroy after initializing should work (#43)": a call made just before close() settles', async () => {
    const pool = await Compute.start(options)
    const call = pool.run(t.delayedEcho('slept', 10)).then((value) => ({ value }), (error: { code?: string }) => ({ code: error.code }))
    await pool.close()
    const outcome = await call
    expect([{ value: 'slept' }, { code: 'ERR_SPINDLE_CLOSED' }]).toContainEqual(outcome)
  })

  it('termination "recycling workers while closing pool does not crash": workers dying during close()', async () => {
    const pool = await Compute.start(options)
    const exits = Array.from({ length: 10 }, () => pool.run(t.exitNow(1)).catch((e: { code?: string }) => e.code))
    const closing = pool.close()
    const codes = await Promise.all(exits)
    await closing
    for (const code of codes) expect(['ERR_SPINDLE_WORKER_EXIT', 'ERR_SPINDLE_CLOSED']).toContain(code)
  })

  it('atomic "avoids unbounded recursion": 20,000 calls that finish at once', async () => {
    const pool = await start(options)
    const out = await pool.run(gather(...Array.from({ length: 20_000 }, (_, i) => t.echo(i))))
    expect(out[19_999]).toBe(19_999)
  })

  it("worker-stdio \"worker's stdout and stderr are piped to main thread\"", async () => {
    const spindle = new URL('../../dist/index.js', import.meta.url).href
    const tasks = new URL('../fixtures/tasks.mjs', import.meta.url).href
    const program = [
      `const { Compute, remote } = await import(${JSON.stringify(spindle)})`,
      `const t = remote(${JSON.stringify(tasks)})`,
      `const pool = await Compute.start(${JSON.stringify({ ...options, workers: 1 })})`,
      `try { await pool.run(t.say('Worker message')) } finally { await pool.close() }`,
    ].join('\n')
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', program], { timeout: 30_000 })
    expect(stdout).toContain('Worker message')
  })
})

describe('tinypool: options.test.ts', () => {
  it('fractional thread limits are refused: a pool has a whole number of nodes', async () => {
    await expect(Compute.start({ workers: 0.5 })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION', message: 'Expected `workers` to be an integer >= 1, got `0.5` (number)' })
  })
})
