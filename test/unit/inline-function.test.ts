import { describe, it, expect } from 'vitest'
import { compileInline, inlineSource } from '../../src/map/inline-function.js'
import { InvalidOptionError, SpindleError } from '../../src/errors.js'
import { caught } from '../helpers/testing.js'


/** Ships `fn` as parallelMap would and re-creates it as a worker would. */
function roundTrip(fn: Function, context?: Record<string, unknown>): (...args: unknown[]) => unknown {
  return compileInline(inlineSource(fn, context ? Object.keys(context) : []), context)
}

/** The names reported as free, read back from the message. */
function freeIn(fn: Function, keys: string[] = []): string[] {
  const error = caught(() => inlineSource(fn, keys))
  expect(error.code).toBe('ERR_SPINDLE_NOT_SELF_CONTAINED')
  const list = /uses (.*?), which (?:is|are) defined/.exec(error.message)?.[1] ?? ''
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string).sort()
}

// Free variables for the tests below: real bindings here, unknown on a worker.
const factor = 3
const offset = 10
const k = 'key'
const obj = { scale: 2 }
const helper = (x: number): number => x + 1

describe('self-contained functions', () => {
  it('ships arrows, function expressions, async and generator functions', async () => {
    expect(roundTrip((x: number) => x * x)(4)).toBe(16)
    expect(roundTrip((x: number) => { const y = x + 1; return y * 2 })(4)).toBe(10)
    expect(roundTrip(function (x: number) { return x - 1 })(4)).toBe(3)
    expect(roundTrip(function fact(n: number): number { return n <= 1 ? 1 : n * fact(n - 1) })(5)).toBe(120)
    expect(await roundTrip(async (x: number) => x + 1)(1)).toBe(2)
    expect(await roundTrip(async function (x: number) { return x * 3 })(2)).toBe(6)
    const gen = roundTrip(function* (n: number) { for (let i = 0; i < n; i++) yield i })
    expect([...(gen(3) as Iterable<number>)]).toEqual([0, 1, 2])
    const agen = roundTrip(async function* (n: number) { yield n; yield n + 1 })
    const got: number[] = []
    for await (const v of agen(1) as AsyncIterable<number>) got.push(v)
    expect(got).toEqual([1, 2])
  })

  it('ships method shorthand, async and generator methods', async () => {
    const o = {
      square(x: number) { return x * x },
      async twice(x: number) { return 2 * x },
      *pair(x: number) { yield x; yield x },
      'with-dash'(x: number) { return -x },
    }
    expect(roundTrip(o.square)(5)).toBe(25)
    expect(await roundTrip(o.twice)(5)).toBe(10)
    expect([...(roundTrip(o.pair)(7) as Iterable<number>)]).toEqual([7, 7])
    expect(roundTrip(o['with-dash'])(1)).toBe(-1)
    class C { static half(x: number) { return x / 2 } }
    expect(roundTrip(C.half)(8)).toBe(4)
  })

  it('allows globals', () => {
    const fn = (x: number) => {
      console.debug
      const t = performance.now() + Date.now()
      const a = Array.from(JSON.parse(JSON.stringify([x])) as number[])
      return structuredClone({ v: Math.max(...a), t: typeof t, b: typeof Buffer, p: typeof process, s: typeof setTimeout })
    }
    expect(roundTrip(fn)(2)).toEqual({ v: 2, t: 'number', b: 'function', p: 'object', s: 'function' })
  })

  it('does not flag any kind of local declaration', () => {
    const fn = (
      { a, b: [c = 0, d = c], ...rest }: { a: number; b: number[]; [k: string]: unknown },
      e = a + c,
      ...more: number[]
    ) => {
      var v = 1
      let l = 2
      const q = 3
      function inner(p: number): number { return p + v + hoisted() }
      function hoisted() { return 0 }
      class Local { constructor(readonly n: number) {} get twice() { return this.n * 2 } }
      try { throw new Error('x') } catch ({ message }: any) { l += (message as string).length }
      try { l += 0 } catch { l += 1 }
      for (const x of more) l += x
      for (const key in rest) l += key.length
      for (let i = 0; i < 2; i++) l += i
      outer: for (;;) break outer
      const shadow = (factor: number) => factor * 2 // shadows the outer `factor`
      const nested = function named() { return typeof named }
      const o2 = { a, [String(q)]: q, helper: 1 }
      return [inner(d), new Local(e).twice, shadow(1), nested(), o2.helper, l, q, Object.keys(o2).length]
    }
    expect(() => inlineSource(fn)).not.toThrow()
    expect(roundTrip(fn)({ a: 1, b: [2], z: 0 }, undefined, 5)).toEqual(fn({ a: 1, b: [2], z: 0 }, undefined, 5))
  })

  it('keeps parameter defaults out of the body scope, and sees class names and static blocks', () => {
    expect(freeIn((x = offset) => { var offset = 1; return x + offset })).toEqual(['offset'])
    const fn = function (this: unknown, ...args: number[]) {
      const C = class Named { static n = 0; static { var s = 1; Named.n = s } m() { return Named.n + arguments.length } }
      return new C().m() + args.length
    }
    expect(roundTrip(fn)(1, 2)).toBe(3)
  })

  it('caches the check per function and key set', () => {
    const fn = (x: number) => x * factor
    expect(inlineSource(fn, ['factor'])).toBe(inlineSource(fn, ['factor']))
    expect(() => inlineSource(fn)).toThrow(SpindleError)
  })

  it('resolves block scopes precisely', () => {
    // `offset` is declared only inside the block, so the read after it is free.
    expect(freeIn((x: number) => { { const offset = 1; x += offset } return x + offset })).toEqual(['offset'])
    expect(freeIn((x: number) => { switch (x) { case 1: { let factor = 2; return factor } } return factor })).toEqual(['factor'])
  })
})

describe('free variables', () => {
  it('names one free variable with both fixes', () => {
    const error = caught(() => inlineSource((x: number) => x * factor))
    expect(error.code).toBe('ERR_SPINDLE_NOT_SELF_CONTAINED')
    expect(error.message).toContain('"factor"')
    expect(error.message).toContain('{ context: { factor } }')
    expect(error.message).toContain('remote(')
  })

  it('lists several', () => {
    expect(freeIn((x: number) => x * factor + offset + helper(x))).toEqual(['factor', 'helper', 'offset'])
    expect(caught(() => inlineSource((x: number) => x * factor + offset)).message).toContain('{ context: { factor, offset } }')
  })

  it('finds them in nested functions, defaults, shorthand properties and computed keys', () => {
    expect(freeIn((xs: number[]) => xs.map((x) => x * factor))).toEqual(['factor'])
    expect(freeIn(function (x: number) { function f() { return offset } return x + f() })).toEqual(['offset'])
    expect(freeIn((x: number, y = factor) => x * y)).toEqual(['factor'])
    expect(freeIn((x: number) => ({ x, factor }))).toEqual(['factor'])
    expect(freeIn((x: number) => ({ [k]: x }))).toEqual(['k'])
    expect(freeIn((x: number) => { const { [k]: v } = { key: x }; return v })).toEqual(['k'])
    expect(freeIn((x: number) => class extends (helper as unknown as new () => object) { n = x })).toEqual(['helper'])
  })

  it('flags only the object of a member expression, not property names or keys', () => {
    expect(freeIn((x: number) => x * obj.scale)).toEqual(['obj'])
    expect(freeIn((x: number) => ({ scale: x, factor: 1 }).scale + obj.scale)).toEqual(['obj'])
    expect(freeIn(() => { let x = 0; x = obj.scale; return x })).toEqual(['obj'])
  })

  it('flags assignments to outer variables', () => {
    let counter = 0
    expect(freeIn(() => { counter++ })).toEqual(['counter'])
    expect(freeIn(() => { [counter] = [1] })).toEqual(['counter'])
    expect(counter).toBe(0)
  })
})

describe('context', () => {
  it('makes context keys available with their values', () => {
    const fn = (x: number) => x * factor + offset
    expect(roundTrip(fn, { factor: 3, offset: 10 })(2)).toBe(16)
    expect(freeIn(fn, ['factor'])).toEqual(['offset'])
  })

  it('gives different results for different context values of the same source', () => {
    const shipped = inlineSource((x: number) => x * factor, ['factor'])
    const a = compileInline(shipped, { factor: 2 })
    const b = compileInline(shipped, { factor: 5 })
    expect([a(3), b(3), compileInline(shipped, { factor: 2 })(3)]).toEqual([6, 15, 6])
    // Same object, mutated between calls: the new value is seen.
    const ctx = { factor: 1 }
    expect(compileInline(shipped, ctx)(3)).toBe(3)
    ctx.factor = 4
    expect(compileInline(shipped, ctx)(3)).toBe(12)
  })

  it('rejects keys that cannot be variables', () => {
    for (const bad of ['a-b', 'class', '1x', 'a){}']) {
      expect(() => inlineSource((x: number) => x, [bad])).toThrow(InvalidOptionError)
    }
  })
})

describe('things that cannot be shipped', () => {
  it('rejects native and bound functions with the wrap advice', () => {
    for (const fn of [Math.sqrt, ((x: number) => x).bind(null), parseInt]) {
      const error = caught(() => inlineSource(fn))
      expect(error.code).toBe('ERR_SPINDLE_INVALID_ARGUMENT')
      expect(error.message).toMatch(/wrap it/)
    }
    expect(caught(() => inlineSource(Math.sqrt)).message).toContain('(x) => Math.sqrt(x)')
    expect(caught(() => inlineSource(helper.bind(null))).message).toContain('bound')
  })

  it('rejects classes, accessors, computed methods and super', () => {
    class Thing {}
    expect(caught(() => inlineSource(Thing)).message).toContain('class')
    const o = { get v() { return 1 }, [Symbol.iterator]() { return [][Symbol.iterator]() } }
    const getter = Object.getOwnPropertyDescriptor(o, 'v')?.get as Function
    expect(caught(() => inlineSource(getter)).code).toBe('ERR_SPINDLE_INVALID_ARGUMENT')
    expect(caught(() => inlineSource(o[Symbol.iterator])).message).toContain('computed')
    const withSuper = { m() { return super.toString() } }
    expect(caught(() => inlineSource(withSuper.m)).message).toContain('super')
  })
})

describe('compiled TypeScript', () => {
  it('ships a function compiled by esbuild with keepNames, as tsx runs it', () => {
    // What tsx makes of: (x: number): number => { function inner(y: number): number { return y * 2 }
    // const g = (z: number) => z; class K { m() { return 1 } } return inner(x) + g(1) + new K().m() }
    const compiled = 'x=>{function inner(y){return y*2}__name(inner,"inner");const g=__name(z=>z,"g");class K{static{__name(this,"K")}m(){return 1}}return inner(x)+g(1)+new K().m()}'
    const __name = (f: object, value: string) => Object.defineProperty(f, 'name', { value, configurable: true })
    const fn = new Function('__name', `return ${compiled}`)(__name) as Function
    expect(roundTrip(fn)(5)).toBe(12)
    // The shim keeps what the helper is for: names that survive minification.
    const named = 'x=>{const f=__name(()=>x,"kept");return f.name}'
    expect(roundTrip(new Function('__name', `return ${named}`)(__name) as Function)(5)).toBe('kept')
  })

  it('ships functions as this test runner compiled them', () => {
    const typed = (x: number, opts?: { n: number }): number => x + (opts?.n ?? 1)
    expect(roundTrip(typed)(1, { n: 2 })).toBe(3)
  })

  it('reports compiler helpers with a hint', () => {
    const fn = new Function('return function (x) { return __awaiter(this, void 0, void 0, function* () { return x }) }')() as Function
    const error = caught(() => inlineSource(fn))
    expect(error.code).toBe('ERR_SPINDLE_NOT_SELF_CONTAINED')
    expect(error.message).toContain('"__awaiter"')
    expect(error.message).toContain('helpers')
  })
})
