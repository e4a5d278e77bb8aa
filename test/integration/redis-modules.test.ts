// Task modules reach Redis workers by content, as over SSH: the caller stores each file's source
// once in the broker under its hash, a worker fetches what its cache lacks and runs that copy
// (not the caller's file), with the files the module imports relatively; a TypeScript module is
// compiled first. Here the workers run in this process, each with a cache directory of its own.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Compute, gather, remote } from 'spindle'
import { startRedisWorker, type RedisWorker } from '../../dist/backends/redis/redis-worker.js'
import type * as Relative from '../fixtures/relative/tasks.mjs'
import type * as Typed from '../fixtures/relative/typed.js'
import { runRedisTests, startRedisLab, type RedisLab } from '../helpers/redis.js'

describe.runIf(runRedisTests)('task modules on the Redis backend', () => {
  let lab: RedisLab
  const scratch = mkdtempSync(join(tmpdir(), 'spindle-redis-modules-'))
  const workers: RedisWorker[] = []
  let pools = 0
  beforeAll(async () => {
    lab = await startRedisLab()
  })
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()))
  })
  afterAll(async () => {
    await lab?.stop()
    rmSync(scratch, { recursive: true, force: true })
  })
  const worker = async (pool: string, cacheDir: string) => {
    const started = await startRedisWorker({ url: lab.url, pool, workersPerNode: 1, heartbeatMs: 200, cacheDir })
    workers.push(started)
    return started
  }
  const start = (pool: string, minNodes = 1) => Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool, minNodes })

  it('a module runs from the worker’s cache, fetched from the broker by content, with what it imports; a TypeScript one compiled', async () => {
    const pool = `modules-${++pools}`
    const cache = join(scratch, 'cache-a')
    await worker(pool, cache)
    await using compute = await start(pool)
    const relative = remote<typeof Relative>(new URL('../fixtures/relative/tasks.mjs', import.meta.url))
    const typed = remote<typeof Typed>(new URL('../fixtures/relative/typed.ts', import.meta.url))
    expect(await compute.run(gather(relative.scaled(4), relative.twiceLater(3), typed.labelled(5)))).toEqual([41, [3, 3], '#5'])

    const dir = join(scratch, 'project')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'where.mjs'), "import { tag } from './tag.mjs'\nexport function where() { return [tag, import.meta.url] }\n")
    writeFileSync(join(dir, 'tag.mjs'), "export const tag = 'mine'\n")
    const mine = remote<{ where(): [string, string] }>(pathToFileURL(join(dir, 'where.mjs')))
    const [tag, url] = await compute.run(mine.where())
    expect(tag).toBe('mine')
    expect(url.startsWith(pathToFileURL(cache).href)).toBe(true) // the worker's copy, not the caller's file
    const hash = url.slice(pathToFileURL(cache).href.length + 1).split('/')[0]
    expect((await lab.admin.keys(`spindle:{${pool}}:m:${hash}/*`)).sort()).toEqual([`spindle:{${pool}}:m:${hash}/tag.mjs`, `spindle:{${pool}}:m:${hash}/where.mjs`])

    // The caller's files gone: a worker that joins now, with an empty cache, still gets them from the broker.
    rmSync(dir, { recursive: true, force: true })
    const late = join(scratch, 'cache-b')
    await worker(pool, late)
    while (compute.nodes < 2) await new Promise((resolve) => setTimeout(resolve, 5)) // polling: the join
    const infos = await compute.broadcast(mine.where())
    expect(infos.map(([t]) => t)).toEqual(['mine', 'mine'])
    expect(infos.filter(([, u]) => u.startsWith(pathToFileURL(late).href))).toHaveLength(1)
  })

  it('a module the caller cannot read fails its calls with ERR_SPINDLE_MODULE_NOT_FOUND, and the pool goes on', async () => {
    const pool = `modules-${++pools}`
    await worker(pool, join(scratch, 'cache-c'))
    await using compute = await start(pool)
    const missing = remote<{ f(): number }>(pathToFileURL(join(scratch, 'nowhere.mjs')))
    await expect(compute.run(missing.f())).rejects.toMatchObject({ code: 'ERR_SPINDLE_MODULE_NOT_FOUND' })
    const relative = remote<typeof Relative>(new URL('../fixtures/relative/tasks.mjs', import.meta.url))
    expect(await compute.run(relative.scaled(1))).toBe(11)
  })
})
