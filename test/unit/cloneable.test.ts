import { describe, it, expect } from 'vitest'
import { performance } from 'node:perf_hooks'
import { MessageChannel } from 'node:worker_threads'
import { createSecretKey } from 'node:crypto'
import { runInNewContext } from 'node:vm'
import { findNotCloneable } from '../../src/protocol/cloneable.js'
import { describeValue } from '../../src/protocol/describe-value.js'

class Model {
  weights = [0.1, 0.2]
  predict(x: number): number {
    return x
  }
}

describe('findNotCloneable', () => {
  it('reports a function with its path and name', () => {
    function predict(): number {
      return 1
    }
    const args = [1, { model: { predict } }]
    expect(findNotCloneable(args, 'args')).toEqual({ path: 'args[1].model.predict', what: 'a function (predict)' })
  })

  it('passes an empty argument list, and finds what an empty-looking list holds', () => {
    expect(findNotCloneable([], 'args')).toBeUndefined()
    expect(findNotCloneable([[]], 'args')).toBeUndefined()
    expect(findNotCloneable([[], Symbol('s')], 'args')).toEqual({ path: 'args[1]', what: 'a symbol (Symbol(s))' })
  })

  it('reports a function at the root, an arrow function and an anonymous one', () => {
    expect(findNotCloneable(function foo() {})).toEqual({ path: 'value', what: 'a function (foo)' })
    const handlers = { onDone: () => 1 }
    expect(findNotCloneable(handlers)).toEqual({ path: 'value.onDone', what: 'a function (onDone)' })
    expect(findNotCloneable([(() => () => 1)()])).toEqual({ path: 'value[0]', what: 'a function (anonymous)' })
  })

  it("walks arrays' named properties only when thorough (after a send failed): a key walk per array", () => {
    const value = { rows: [[1], Object.assign([2, 3], { 7: 4, total: () => 9 })] }
    expect(findNotCloneable(value, 'args')).toBeUndefined()
    expect(findNotCloneable(value, 'args', true)).toEqual({ path: 'args.rows[1].total', what: 'a function (total)' })
    expect(findNotCloneable(Object.assign([1], { note: 'fine', 5: 2 }), 'args', true), 'indices and plain named values pass').toBeUndefined()
  })

  it('reports a class passed as a value', () => {
    expect(findNotCloneable({ cls: Model })).toEqual({ path: 'value.cls', what: 'a class (Model)' })
  })

  it('reports a symbol value', () => {
    expect(findNotCloneable({ a: { tag: Symbol('t') } })).toEqual({ path: 'value.a.tag', what: 'a symbol (Symbol(t))' })
  })

  it('ignores symbol-keyed properties (clone drops them)', () => {
    expect(findNotCloneable({ [Symbol('k')]: () => 1, ok: 1 })).toBeUndefined()
  })

  it('reports a class instance', () => {
    expect(findNotCloneable({ model: new Model() }, 'args[0]')).toEqual({
      path: 'args[0].model',
      what: 'an instance of class Model (it would arrive as a plain object, without what class Model defines: predict)',
    })
  })

  it('says what a class instance would actually lose: its methods and accessors by name, or only its class', () => {
    class Point {
      constructor(readonly x = 1) {}
    }
    class Shape {
      area(): number {
        return 0
      }
      get label(): string {
        return 's'
      }
    }
    class Square extends Shape {
      side = 2
      grow(): void {}
    }
    expect(findNotCloneable(new Point())?.what).toBe('an instance of class Point (it would arrive as a plain object, no longer an instance of class Point)')
    expect(findNotCloneable(new Square())?.what).toBe(
      'an instance of class Square (it would arrive as a plain object, without what class Square defines: grow, area, label)',
    )
  })

  it('in a thorough check, finds a value nested too deeply for structured clone (its serializer recurses)', () => {
    const deep: unknown[] = []
    for (let i = 0, at = deep; i < 100_000; i++) at.push((at = []))
    expect(() => structuredClone(deep)).toThrow(RangeError)
    expect(findNotCloneable([1, { rows: deep }], 'args')).toBeUndefined() // the quick check does not look
    expect(findNotCloneable([1, { rows: deep }], 'args', true)).toEqual({
      path: 'args[1]',
      what: 'nested more than 2,000 levels deep (structured clone recurses, and overflows the stack a few thousand levels down): flatten it',
    })
    const shallow: unknown[] = []
    for (let i = 0, at = shallow; i < 1000; i++) at.push((at = []))
    expect(findNotCloneable(shallow, 'args', true)).toBeUndefined()
  })

  it('reports an instance of an anonymous class and an object with a custom prototype', () => {
    const Anonymous = (() => class {})()
    expect(findNotCloneable({ a: new Anonymous() })?.what).toBe(
      'an instance of an anonymous class (it would arrive as a plain object, no longer an instance of its class)',
    )
    const custom = Object.create({ greet: () => 'hi' }) as object
    expect(findNotCloneable({ c: custom })).toEqual({
      path: 'value.c',
      what: 'an object with a custom prototype (what it inherits would be lost)',
    })
  })

  it('reports subclasses of built-ins, which would arrive as the plain built-in', () => {
    class Registry extends Map<string, number> {}
    class Bag extends Set<number> {}
    class List extends Array<number> {}
    class Moment extends Date {}
    expect(findNotCloneable({ r: new Registry() })).toEqual({
      path: 'value.r',
      what: 'an instance of class Registry (a Map subclass: it would arrive as a plain Map, without its methods)',
    })
    expect(findNotCloneable([new Bag()])?.what).toMatch(/^an instance of class Bag \(a Set subclass/)
    expect(findNotCloneable([List.from([1])])?.what).toMatch(/^an instance of class List \(an Array subclass/)
    expect(findNotCloneable([new Moment()])?.what).toMatch(/^an instance of class Moment \(a Date subclass/)
  })

  it('reports Promise, WeakMap, WeakSet, WeakRef and proxies', () => {
    expect(findNotCloneable({ p: Promise.resolve(1) })).toEqual({
      path: 'value.p',
      what: 'a Promise (await it and send its result)',
    })
    expect(findNotCloneable({ w: new WeakMap() })).toEqual({ path: 'value.w', what: 'a WeakMap (it cannot be copied)' })
    expect(findNotCloneable({ w: new WeakSet() })).toEqual({ path: 'value.w', what: 'a WeakSet (it cannot be copied)' })
    expect(findNotCloneable({ w: new WeakRef({}) })).toEqual({ path: 'value.w', what: 'a WeakRef (it cannot be copied)' })
    expect(findNotCloneable({ p: new Proxy({}, {}) })).toEqual({ path: 'value.p', what: 'a Proxy (it cannot be copied)' })
  })

  it('reports a getter that throws', () => {
    const value = {
      get bad(): number {
        throw new Error('nope')
      },
    }
    expect(findNotCloneable(value)).toEqual({ path: 'value.bad', what: 'a getter that threw (Error: nope)' })
  })

  it('quotes keys that are not identifiers', () => {
    expect(findNotCloneable({ 'my key': { 'a-b': [0, () => 1] } })?.path).toBe('value["my key"]["a-b"][1]')
  })

  it('finds values inside Maps, with readable paths', () => {
    const fn = function handler() {}
    expect(findNotCloneable({ m: new Map([['key', fn]]) })).toEqual({
      path: 'value.m.get("key")',
      what: 'a function (handler)',
    })
    expect(findNotCloneable(new Map([[7, { deep: [fn] }]]))?.path).toBe('value.get(7).deep[0]')
    const objectKey = { id: 1 }
    expect(findNotCloneable(new Map<unknown, unknown>([['a', 1], [objectKey, fn]]))?.path).toBe('value.values()[1]')
    expect(findNotCloneable(new Map<unknown, unknown>([['a', 1], [fn, 2]]))).toEqual({
      path: 'value.keys()[1]',
      what: 'a function (handler)',
    })
  })

  it('finds members of Sets', () => {
    expect(findNotCloneable({ s: new Set([1, 2, new Model()]) })).toEqual({
      path: 'value.s.values()[2]',
      what: 'an instance of class Model (it would arrive as a plain object, without what class Model defines: predict)',
    })
  })

  it('reports the first offender, depth first in property order', () => {
    const value = { a: [1, { b: () => 1 }], c: () => 2 }
    expect(findNotCloneable(value)?.path).toBe('value.a[1].b')
    expect(findNotCloneable([{ x: { y: Symbol('first') } }, Symbol('second')])?.path).toBe('value[0].x.y')
  })

  it('handles cycles and shared references', () => {
    const a: Record<string, unknown> = { name: 'a' }
    const b: Record<string, unknown> = { name: 'b', a }
    a.b = b
    a.self = a
    const list: unknown[] = [a, b]
    list.push(list)
    expect(findNotCloneable(list)).toBeUndefined()
    b.bad = () => 1
    expect(findNotCloneable(list)?.path).toBe('value[0].b.bad')

    const map = new Map<string, unknown>()
    map.set('me', map)
    const set = new Set<unknown>()
    set.add(set)
    expect(findNotCloneable({ map, set })).toBeUndefined()
  })

  it('handles very deep nesting without a stack overflow', () => {
    let deep: Record<string, unknown> = { end: true }
    for (let i = 0; i < 100_000; i++) deep = { next: deep }
    expect(findNotCloneable(deep)).toBeUndefined()
  })

  it('passes primitives and every supported built-in', () => {
    const { port1, port2 } = new MessageChannel()
    try {
      const value = {
        primitives: [1, 'two', true, null, undefined, 10n, Number.NaN],
        date: new Date(),
        re: /x/g,
        map: new Map<unknown, unknown>([[{ k: 1 }, new Set([1, [2]])]]),
        set: new Set(['a']),
        ab: new ArrayBuffer(8),
        sab: new SharedArrayBuffer(8),
        typed: [
          new Int8Array(1),
          new Uint8Array(1),
          new Uint8ClampedArray(1),
          new Int16Array(1),
          new Uint16Array(1),
          new Int32Array(1),
          new Uint32Array(1),
          new Float32Array(1),
          new Float64Array(1),
          new BigInt64Array(1),
          new BigUint64Array(1),
        ],
        buffer: Buffer.from('hi'),
        view: new DataView(new ArrayBuffer(4)),
        errors: [new Error('e'), new TypeError('t'), new AggregateError([], 'a'), new (class HttpError extends Error {})()],
        boxed: [Object(1) as unknown, Object('s') as unknown, Object(false) as unknown],
        blob: new Blob(['x']),
        key: createSecretKey(Buffer.from('secret')),
        nullProto: Object.assign(Object.create(null) as object, { a: 1 }),
        sparse: [1, , 3],
      }
      expect(findNotCloneable(value)).toBeUndefined()
      expect(() => structuredClone(value)).not.toThrow() // and clone agrees
      // A port clones only when transferred, and spindle copies: refused, with its path.
      expect(findNotCloneable({ reply: port1 }, 'args[0]')).toEqual({
        path: 'args[0].reply',
        what: 'a MessagePort (a port can only be transferred, never copied: open the channel inside the task, or pass data)',
      })
      expect(() => structuredClone({ reply: port1 })).toThrow()
    } finally {
      port1.close()
      port2.close()
    }
  })

  it('takes plain objects and arrays from another realm (vm context) as plain', () => {
    const foreign = runInNewContext('({ a: [1, { b: 2 }], m: new Map([[1, 2]]), d: new Date(0) })') as unknown
    expect(findNotCloneable(foreign)).toBeUndefined()
    const foreignBad = runInNewContext('({ a: [1, { f() {} }] })') as unknown
    expect(findNotCloneable(foreignBad)).toEqual({ path: 'value.a[1].f', what: 'a function (f)' })
    const foreignInstance = runInNewContext('class Thing {}; ({ t: new Thing() })') as unknown
    expect(findNotCloneable(foreignInstance)?.what).toBe('an instance of class Thing (it would arrive as a plain object, no longer an instance of class Thing)')
  })

  it('accepts a custom root path', () => {
    expect(findNotCloneable(() => 1, 'result')?.path).toBe('result')
  })

  it('checks a 1,000,000-number array quickly', () => {
    const numbers = Array.from({ length: 1_000_000 }, (_, i) => i * 0.5)
    findNotCloneable(numbers) // warm up
    // The best of five: a loaded machine delays some rounds, never all (a walk that visits every
    // number as an object would take hundreds of ms in each).
    let ms = Infinity
    for (let round = 0; round < 5; round++) {
      const start = performance.now()
      expect(findNotCloneable(numbers)).toBeUndefined()
      ms = Math.min(ms, performance.now() - start)
    }
    expect(ms, `checking 1,000,000 numbers took ${ms.toFixed(2)} ms at best`).toBeLessThan(50)
  })

  it('does not read typed arrays (a huge one costs nothing)', () => {
    const huge = new Float64Array(20_000_000)
    const start = performance.now()
    expect(findNotCloneable({ huge, list: [huge, huge] })).toBeUndefined()
    const ms = performance.now() - start
    expect(ms, `checking typed arrays took ${ms.toFixed(2)} ms`).toBeLessThan(20)
  })

  it('finds an offender at the end of a big array of numbers', () => {
    const numbers: unknown[] = Array.from({ length: 1_000_000 }, (_, i) => i)
    numbers.push({ f: () => 1 })
    expect(findNotCloneable(numbers)?.path).toBe('value[1000000].f')
  })
})

describe('describeValue', () => {
  it('describes values for messages', () => {
    expect(describeValue(undefined)).toBe('undefined')
    expect(describeValue(null)).toBe('null')
    expect(describeValue(3)).toBe('a number (3)')
    expect(describeValue(3n)).toBe('a bigint (3n)')
    expect(describeValue('hi')).toBe('a string ("hi")')
    expect(describeValue(true)).toBe('a boolean (true)')
    expect(describeValue(Symbol('s'))).toBe('a symbol (Symbol(s))')
    expect(describeValue(function foo() {})).toBe('a function (foo)')
    expect(describeValue(Model)).toBe('a class (Model)')
    expect(describeValue([1, 2])).toBe('an array (length 2)')
    expect(describeValue({ a: 1 })).toBe('an object')
    expect(describeValue(new Model())).toBe('an instance of class Model')
    expect(describeValue(new Map([[1, 2]]))).toBe('a Map (1 entry)')
    expect(describeValue(new Set([1, 2]))).toBe('a Set (2 members)')
    expect(describeValue(new TypeError('bad'))).toBe('an error (TypeError: "bad")')
    expect(describeValue(new Uint8Array(4))).toBe('a Uint8Array (length 4)')
    expect(describeValue(Buffer.alloc(2))).toBe('a Buffer (length 2)')
    expect(describeValue(new ArrayBuffer(8))).toBe('an ArrayBuffer (8 bytes)')
    expect(describeValue(Promise.resolve())).toBe('a Promise')
    expect(describeValue(new Proxy({}, {}))).toBe('a Proxy')
    expect(describeValue(Object.create(null))).toBe('an object (with a null prototype)')
    expect(describeValue('x'.repeat(100))).toMatch(/^a string \("x{40}…"\)$/)
  })

  it('never throws', () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    expect(() => describeValue(proxy)).not.toThrow()
    expect(findNotCloneable({ p: proxy })?.path).toBe('value.p')
  })
})
