import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { SpindleError } from '../../src/errors.js'
import { StepCache, cacheKey, moduleHash, type CacheKeyParts } from '../../src/runlog/cache.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-cache-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const base: CacheKeyParts = {
  module: 'file:///app/tasks.js',
  exportName: 'train',
  moduleSource: 'export function train(x) { return x }',
  args: [{ rate: 0.1, layers: [64, 32] }, 'data.csv'],
  upstream: ['a'.repeat(64), 'b'.repeat(64)],
}
const key = (parts: Partial<CacheKeyParts> = {}): string => cacheKey({ ...base, ...parts })
const keyOf = (...args: unknown[]): string => key({ args })

describe('cacheKey', () => {
  it('is 64 hex digits, and equal for equal inputs whatever the object key order', () => {
    expect(key()).toMatch(/^[0-9a-f]{64}$/)
    expect(key()).toBe(key({ args: [{ layers: [64, 32], rate: 0.1 }, 'data.csv'] }))
    expect(keyOf({ a: 1, b: { c: 2, d: 3 } })).toBe(keyOf({ b: { d: 3, c: 2 }, a: 1 }))
    expect(keyOf(new Map([['k', new Float32Array([1, 2])]]))).toBe(keyOf(new Map([['k', new Float32Array([1, 2])]])))
  })

  it('changes when an argument value, the module, the export name or an upstream key changes', () => {
    const keys = [
      key(),
      key({ args: [{ rate: 0.2, layers: [64, 32] }, 'data.csv'] }),
      key({ args: [{ rate: 0.1, layers: [64, 33] }, 'data.csv'] }),
      key({ args: [{ rate: 0.1, layers: [64, 32] }, 'data2.csv'] }),
      key({ args: [{ rate: 0.1, layers: [64, 32] }] }),
      key({ moduleSource: 'export function train(x) { return x + 1 }' }),
      key({ moduleSource: Buffer.from('export function train(x) { return x + 1 }') }),
      key({ module: 'file:///app/other.js' }),
      key({ exportName: 'evaluate' }),
      key({ upstream: ['a'.repeat(64), 'c'.repeat(64)] }),
      key({ upstream: ['b'.repeat(64), 'a'.repeat(64)] }), // order matters
      key({ upstream: ['a'.repeat(64)] }),
    ]
    // The module's content as a string or as a Buffer is the same content.
    expect(keys[5]).toBe(keys[6])
    keys.splice(6, 1)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('tells apart values that compare or serialize alike', () => {
    const distinct: Array<[string, unknown, unknown]> = [
      ['-0 / 0', -0, 0],
      ['NaN / null', NaN, null],
      ['NaN / undefined', NaN, undefined],
      ['1 / 1n', 1, 1n],
      ['1 / "1"', 1, '1'],
      ['undefined field / missing field', { a: undefined }, {}],
      ['Map / object', new Map([['a', 1]]), { a: 1 }],
      ['Set / array', new Set([1, 2]), [1, 2]],
      ['Map order', new Map([['a', 1], ['b', 2]]), new Map([['b', 2], ['a', 1]])],
      ['hole / undefined', [, 1], [undefined, 1]], // eslint-disable-line no-sparse-arrays
      ['Uint8Array / Int8Array', new Uint8Array([1]), new Int8Array([1])],
      ['Buffer / Uint8Array', Buffer.from([1]), new Uint8Array([1])],
      ['typed array bytes', new Float64Array([1, 2]), new Float64Array([1, 3])],
      ['Date / number', new Date(5), 5],
      ['Date', new Date(5), new Date(6)],
      ['RegExp flags', /a/g, /a/i],
      ['boxed / primitive', Object(1), 1],
      ['string escapes', 'a"b', 'a\\"b'],
      ['nested vs flat', [[1], 2], [1, [2]]],
      ['shared vs copied', ((o) => [o, o])({ x: 1 }), [{ x: 1 }, { x: 1 }]],
      ['class instance / plain', new (class Point { x = 1 })(), { x: 1 }],
      ['error messages', new Error('a'), new Error('b')],
    ]
    for (const [what, a, b] of distinct) expect(keyOf(a), what).not.toBe(keyOf(b))
    expect(keyOf(NaN)).toBe(keyOf(Number('x')))
    expect(keyOf(-0)).toBe(keyOf(-0))
  })

  it('handles cycles', () => {
    const make = (n: number) => {
      const a: Record<string, unknown> = { n }
      a.self = a
      const m = new Map<string, unknown>([['a', a]])
      m.set('m', m)
      return [a, m]
    }
    expect(keyOf(make(1))).toBe(keyOf(make(1)))
    expect(keyOf(make(1))).not.toBe(keyOf(make(2)))
  })

  it('rejects a function argument, saying where it is', () => {
    let error: unknown
    try {
      keyOf(1, { model: { predict: function predict() {} } })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SpindleError)
    expect(error).toMatchObject({
      code: 'ERR_SPINDLE_NOT_CACHEABLE',
      message:
        'Cannot compute a cache key: args[1].model.predict is a function (predict). Only data can be part of a ' +
        "cached step's key; pass data instead, or turn caching off for this step (cache: false).",
    })
    expect(() => keyOf(new Map([['k', () => 1]]))).toThrow(/args\[0\]\[Map value 0\] is a function/)
    expect(() => keyOf(Symbol('s'))).toThrow(/args\[0\] is a symbol/)
    expect(() => keyOf(Promise.resolve(1))).toThrow(/a Promise/)
    expect(keyOf(Symbol.for('s'))).toBe(keyOf(Symbol.for('s')))
  })

  it('hashes large typed arrays quickly and by content', () => {
    const big = new Float64Array(4_000_000).map((_, i) => i)
    const start = performance.now()
    const k1 = keyOf(big)
    const ms = performance.now() - start
    big[3_999_999] = 0
    expect(keyOf(big)).not.toBe(k1)
    expect(ms, `hashing 32 MB took ${ms.toFixed(0)} ms`).toBeLessThan(2_000)
  })
})

describe('moduleHash', () => {
  it('hashes the file behind a file: URL, and sees when it changes', async () => {
    const file = join(dir, 'tasks.mjs')
    writeFileSync(file, 'export const a = 1\n')
    const url = pathToFileURL(file).href
    const first = await moduleHash(url)
    expect(first).toMatch(/^[0-9a-f]{64}$/)
    expect(await moduleHash(new URL(url))).toBe(first)
    writeFileSync(file, 'export const a = 2\n') // same size: the stamp (mtime, ctime) still changes
    utimesSync(file, new Date(0), new Date(0))
    const second = await moduleHash(url)
    expect(second).not.toBe(first)
    expect(key({ moduleSource: first })).not.toBe(key({ moduleSource: second }))
  })

  it('rejects a missing file and other schemes clearly', async () => {
    const missing = pathToFileURL(join(dir, 'nope.mjs')).href
    await expect(moduleHash(missing)).rejects.toMatchObject({ code: 'ERR_SPINDLE_MODULE_NOT_FOUND', message: expect.stringContaining(missing) })
    await expect(moduleHash('https://example.com/t.js')).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_ARGUMENT' })
    await expect(moduleHash('data:text/javascript,export default 1')).resolves.toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('StepCache', () => {
  it('get after put hits with an equal value; another key misses', () => {
    const cache = StepCache.open(dir)
    const value = { table: new Map([['a', new Uint16Array([1, 2, 3])]]), n: 10n, when: new Date(3) }
    const put = cache.put(key(), value)
    const got = StepCache.open(dir).get(key())
    // With the value, the entry it came from: its bytes, their hash and its file (what a run links to).
    const stored = { hash: put.hash, body: put.body, file: join(dir, key().slice(0, 2), `${key()}.v8`) }
    expect(put).toEqual(stored)
    expect(got).toEqual({ hit: true, value, stored })
    expect(StepCache.open(dir).get(key({ exportName: 'other' }))).toEqual({ hit: false })
    cache.put(key({ exportName: 'nothing' }), undefined)
    expect(cache.get(key({ exportName: 'nothing' }))).toMatchObject({ hit: true, value: undefined })
  })

  it('replaces atomically, leaving no temporary files', () => {
    const cache = StepCache.open(dir)
    for (let i = 0; i < 20; i++) cache.put(key(), i)
    expect(cache.get(key())).toMatchObject({ hit: true, value: 19 })
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    expect(files.map((f) => f.name)).toEqual([`${key()}.v8`])
  })

  it('a leftover temporary file or a damaged entry is a miss', () => {
    const cache = StepCache.open(dir)
    const k = key()
    mkdirSync(join(dir, k.slice(0, 2)))
    writeFileSync(join(dir, k.slice(0, 2), `.${k}.v8.0123456789ab.tmp`), 'half')
    expect(cache.get(k)).toEqual({ hit: false })
    writeFileSync(join(dir, k.slice(0, 2), `${k}.v8`), 'not v8 data')
    expect(cache.get(k)).toEqual({ hit: false })
  })

  it('an entry whose bytes changed, or a directory in its place, is a miss with a warning, not a wrong value or EISDIR', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const cache = StepCache.open(dir)
      const k = key()
      cache.put(k, { label: 'trained-model' })
      const file = join(dir, k.slice(0, 2), `${k}.v8`)
      const bytes = readFileSync(file)
      bytes[bytes.indexOf('trained')] = 'T'.charCodeAt(0) // still valid v8 data, a different value
      writeFileSync(file, bytes)
      expect(cache.get(k)).toEqual({ hit: false })
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/has changed since it was stored .*the step runs again/)
      rmSync(file)
      mkdirSync(file)
      expect(cache.get(k)).toEqual({ hit: false })
      expect(String(warn.mock.calls[1]?.[0])).toContain('cannot be read (EISDIR)')
      expect(() => cache.put(k, 1)).not.toThrow() // the step keeps its output; the cache says why it could not
      expect(String(warn.mock.calls[2]?.[0])).toContain('Could not store step cache entry')
    } finally {
      warn.mockRestore()
    }
  })

  it('rejects what it cannot store or look up', () => {
    const cache = StepCache.open(dir)
    expect(() => cache.put(key(), { f: () => 1 })).toThrow(expect.objectContaining({ code: 'ERR_SPINDLE_NOT_CACHEABLE' }))
    expect(() => cache.get('../../etc/passwd')).toThrow(expect.objectContaining({ code: 'ERR_SPINDLE_INVALID_ARGUMENT' }))
  })
})
