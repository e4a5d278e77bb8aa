// parallelMap's `concurrency` (p-map's meaning): never more items running at once across the
// pool, counted inside the items themselves, on every backend.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parallelMap, remote, type Compute } from 'spindle'
import type * as Peer from '../fixtures/peer-tasks.mjs'
import { BACKENDS, usePools } from '../helpers/pools.js'

const p = remote<typeof Peer>(new URL('../fixtures/peer-tasks.mjs', import.meta.url))

describe.each(BACKENDS)('parallelMap concurrency on $name', ({ options }) => {
  const start = usePools()
  let pool: Compute
  let dir = ''
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-concurrency-'))
    pool = await start(options)
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const most = (name: string) => Math.max(...readFileSync(join(dir, `${name}.max`), 'utf8').trim().split('\n').map(Number))

  it('bounds the async items running at once across the pool, in input order', async () => {
    for (const concurrency of [1, 3]) {
      const items = Array.from({ length: 12 }, (_, i) => ({ dir: join(dir, `c${concurrency}`), ms: 25, i }))
      expect(await parallelMap(items, p.concurrentItem, { compute: pool, concurrency })).toEqual(items.map((item) => item.i))
      expect(most(`c${concurrency}`)).toBeLessThanOrEqual(concurrency)
    }
  })

  it('with iterate() and a typed array too', async () => {
    const items = Array.from({ length: 8 }, (_, i) => ({ dir: join(dir, 'it'), ms: 20, i }))
    const seen: number[] = []
    for await (const value of parallelMap.iterate(items, p.concurrentItem, { compute: pool, concurrency: 2 })) seen.push(value)
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(most('it')).toBeLessThanOrEqual(2)
    expect(await parallelMap(new Float64Array([1, 2, 3, 4]), (x: number) => x * 2, { compute: pool, concurrency: 1 })).toEqual(new Float64Array([2, 4, 6, 8]))
  })
})
