import { describe, it, expect } from 'vitest'
import { encodeThrown, decodeThrown, type EncodedThrown } from '../../src/protocol/error-codec.js'
import {
  SpindleError,
  InvalidOptionError,
  WorkerExitError,
  InterruptedError,
  TimeoutError,
  NotCloneableError,
  ClosedError,
} from '../../src/errors.js'

type Transport = (encoded: EncodedThrown) => EncodedThrown

const transports: Array<[string, Transport]> = [
  ['structuredClone', (e) => structuredClone(e)],
  ['JSON', (e) => JSON.parse(JSON.stringify(e)) as EncodedThrown],
]

/** Is the encoded form made of JSON data only (plain objects, arrays, strings, finite numbers, booleans, null)? */
function isJsonData(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0)
  if (Array.isArray(value)) return value.every(isJsonData)
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return false
    return Object.values(value).every(isJsonData)
  }
  return false
}

describe.each(transports)('error codec through %s', (_transport, send) => {
  const roundTrip = (value: unknown): unknown => {
    const encoded = encodeThrown(value)
    expect(isJsonData(encoded)).toBe(true)
    return decodeThrown(send(encoded))
  }

  it('keeps name, message, stack and code', () => {
    const original = Object.assign(new Error('disk full'), { code: 'ENOSPC' })
    const decoded = roundTrip(original) as Error & { code?: unknown }
    expect(decoded).toBeInstanceOf(Error)
    expect(decoded).not.toBe(original)
    expect(decoded.name).toBe('Error')
    expect(decoded.message).toBe('disk full')
    expect(decoded.stack).toBe(original.stack)
    expect(decoded.code).toBe('ENOSPC')
  })

  it('keeps message and stack non-enumerable, like a real error', () => {
    const decoded = roundTrip(new RangeError('out of range')) as Error
    const message = Object.getOwnPropertyDescriptor(decoded, 'message')
    const stack = Object.getOwnPropertyDescriptor(decoded, 'stack')
    expect(message?.enumerable).toBe(false)
    expect(message?.value).toBe('out of range')
    expect(stack?.enumerable).toBe(false)
    expect(Object.keys(decoded)).toEqual([])
    expect(Object.prototype.toString.call(decoded)).toBe('[object Error]')
  })

  it('keeps a stack the remote side set by hand, as-is', () => {
    const original = new Error('remote')
    original.stack = 'Error: remote\n    at remoteFn (/srv/app/task.js:10:5)'
    const decoded = roundTrip(original) as Error
    expect(decoded.stack).toBe(original.stack)
  })

  it('has no stack where the original had none', () => {
    const original = new Error('stackless')
    delete (original as { stack?: string }).stack
    const decoded = roundTrip(original) as Error
    expect(decoded.stack).toBeUndefined()
  })

  it('keeps a numeric code', () => {
    const decoded = roundTrip(Object.assign(new Error('x'), { code: 42 })) as { code?: unknown }
    expect(decoded.code).toBe(42)
  })

  it('keeps a cause chain three deep, set the way new Error(msg, { cause }) sets it', () => {
    const root = new TypeError('root cause')
    const middle = new Error('middle', { cause: root })
    const top = new Error('top', { cause: middle })
    const decoded = roundTrip(top) as Error
    expect(decoded.message).toBe('top')
    const desc = Object.getOwnPropertyDescriptor(decoded, 'cause')
    expect(desc).toBeDefined()
    expect(desc?.enumerable).toBe(false)
    expect(desc?.writable).toBe(true)
    const c1 = decoded.cause as Error
    expect(c1).toBeInstanceOf(Error)
    expect(c1.message).toBe('middle')
    expect(c1.stack).toBe(middle.stack)
    const c2 = c1.cause as Error
    expect(c2).toBeInstanceOf(TypeError)
    expect(c2.message).toBe('root cause')
    expect(c2.stack).toBe(root.stack)
    expect(Object.hasOwn(c2, 'cause')).toBe(false)
  })

  it('keeps non-error causes, and an explicit undefined cause', () => {
    const withString = roundTrip(new Error('a', { cause: 'just a string' })) as Error
    expect(withString.cause).toBe('just a string')
    const withObject = roundTrip(new Error('b', { cause: { reason: 'quota', left: 0 } })) as Error
    expect(withObject.cause).toEqual({ reason: 'quota', left: 0 })
    const withUndefined = roundTrip(new Error('c', { cause: undefined })) as Error
    expect(Object.hasOwn(withUndefined, 'cause')).toBe(true)
    expect(withUndefined.cause).toBeUndefined()
  })

  it('keeps AggregateError.errors, nested', () => {
    const inner = new AggregateError([new RangeError('r1'), 'plain string'], 'inner aggregate')
    const outer = new AggregateError([new TypeError('t1'), inner, { code: 7 }], 'outer aggregate', {
      cause: new Error('why'),
    })
    const decoded = roundTrip(outer) as AggregateError
    expect(decoded).toBeInstanceOf(AggregateError)
    expect(decoded.message).toBe('outer aggregate')
    expect(Object.getOwnPropertyDescriptor(decoded, 'errors')?.enumerable).toBe(false)
    expect(decoded.errors).toHaveLength(3)
    expect(decoded.errors[0]).toBeInstanceOf(TypeError)
    expect((decoded.errors[0] as Error).message).toBe('t1')
    const decodedInner = decoded.errors[1] as AggregateError
    expect(decodedInner).toBeInstanceOf(AggregateError)
    expect(decodedInner.errors[0]).toBeInstanceOf(RangeError)
    expect(decodedInner.errors[1]).toBe('plain string')
    expect(decoded.errors[2]).toEqual({ code: 7 })
    expect((decoded.cause as Error).message).toBe('why')
  })

  it('keeps own enumerable fields', () => {
    const original = Object.assign(new Error('not found'), {
      statusCode: 404,
      details: { a: 1, list: [1, 'two', null, true] },
      retryable: false,
    })
    const decoded = roundTrip(original) as typeof original
    expect(decoded.statusCode).toBe(404)
    expect(decoded.details).toEqual({ a: 1, list: [1, 'two', null, true] })
    expect(decoded.retryable).toBe(false)
    expect(Object.keys(decoded).sort()).toEqual(['details', 'retryable', 'statusCode'])
  })

  it('keeps a nested error held in a field', () => {
    const original = Object.assign(new Error('outer'), { original: new SyntaxError('bad json') })
    const decoded = roundTrip(original) as { original: unknown }
    expect(decoded.original).toBeInstanceOf(SyntaxError)
    expect((decoded.original as Error).message).toBe('bad json')
  })

  it('keeps a thrown string, plain object, number, undefined and null', () => {
    expect(roundTrip('boom')).toBe('boom')
    expect(roundTrip({ reason: 'bad', nested: { n: [1, 2] } })).toEqual({ reason: 'bad', nested: { n: [1, 2] } })
    expect(roundTrip(42)).toBe(42)
    expect(roundTrip(undefined)).toBeUndefined()
    expect(roundTrip(null)).toBeNull()
    expect(roundTrip(true)).toBe(true)
    expect(roundTrip(Number.NaN)).toBeNaN()
    expect(roundTrip(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY)
    expect(Object.is(roundTrip(-0), -0)).toBe(true)
    expect(roundTrip(10n)).toBe(10n)
  })

  it('keeps thrown symbols as symbols with the same description (registered ones identical)', () => {
    const local = roundTrip(Symbol('oops')) as symbol
    expect(typeof local).toBe('symbol')
    expect(local.description).toBe('oops')
    expect(roundTrip(Symbol.for('spindle.test'))).toBe(Symbol.for('spindle.test'))
  })

  it('does not mistake a user object with a $t key for a tag', () => {
    const value = { $t: 'undefined', v: 1 }
    expect(roundTrip(value)).toEqual(value)
  })

  it('keeps a __proto__ own key as data without touching prototypes', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>
    const decoded = roundTrip(value) as Record<string, unknown>
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError])(
    'rebuilds %o with its own prototype',
    (Cls) => {
      const decoded = roundTrip(new Cls('msg')) as Error
      expect(decoded).toBeInstanceOf(Cls)
      expect(Object.getPrototypeOf(decoded)).toBe(Cls.prototype)
      expect(decoded.name).toBe(Cls.name)
      expect(decoded.message).toBe('msg')
    },
  )

  it('rebuilds AggregateError with its own prototype', () => {
    const decoded = roundTrip(new AggregateError([], 'none')) as AggregateError
    expect(Object.getPrototypeOf(decoded)).toBe(AggregateError.prototype)
    expect(decoded.errors).toEqual([])
  })

  it('rebuilds spindle errors with their class, code and fields', () => {
    const cases: Array<[Error, new (...args: never[]) => Error, Record<string, unknown>]> = [
      [new SpindleError('ERR_SPINDLE_NOT_IN_TASK', 'not in a task'), SpindleError, {}],
      [new InvalidOptionError('bad option'), InvalidOptionError, {}],
      [
        new WorkerExitError('worker died', { backend: 'threads', node: 3, task: 'mod#fn', exitCode: 1 }),
        WorkerExitError,
        { node: 3, exitCode: 1, task: 'mod#fn' },
      ],
      [new InterruptedError('lost', 4), InterruptedError, { attempts: 4 }],
      [new TimeoutError('too slow', 1500), TimeoutError, { timeout: 1500 }],
      [new NotCloneableError('cannot send', 'args[0].fn'), NotCloneableError, { path: 'args[0].fn' }],
      [new ClosedError('closed'), ClosedError, {}],
    ]
    for (const [original, Cls, fields] of cases) {
      const decoded = roundTrip(original) as SpindleError
      expect(decoded).toBeInstanceOf(Cls)
      expect(decoded).toBeInstanceOf(SpindleError)
      expect(decoded.name).toBe(original.name)
      expect(decoded.code).toBe((original as SpindleError).code)
      expect(decoded.message).toBe(original.message)
      expect(decoded.stack).toBe(original.stack)
      expect(decoded).toMatchObject(fields)
      expect(Object.getOwnPropertyDescriptor(decoded, 'name')?.enumerable).toBe(false)
    }
  })

  it('keeps the cause of a spindle error', () => {
    const original = new InterruptedError('gave up', 3, { cause: new Error('socket hang up') })
    const decoded = roundTrip(original) as InterruptedError
    expect(decoded).toBeInstanceOf(InterruptedError)
    expect((decoded.cause as Error).message).toBe('socket hang up')
  })

  it('decodes a custom class as an Error with its name', () => {
    class HttpError extends Error {
      name = 'HttpError'
      constructor(
        message: string,
        readonly status: number,
      ) {
        super(message)
      }
    }
    const decoded = roundTrip(new HttpError('teapot', 418)) as Error & { status?: unknown }
    expect(decoded).toBeInstanceOf(Error)
    expect(Object.getPrototypeOf(decoded)).toBe(Error.prototype)
    expect(decoded.name).toBe('HttpError')
    expect(decoded.message).toBe('teapot')
    expect(decoded.status).toBe(418)
    expect(String(decoded)).toBe('HttpError: teapot')
  })

  it('decodes a subclass of a built-in as the built-in, with its name', () => {
    class ParseError extends SyntaxError {
      override name = 'ParseError'
    }
    const decoded = roundTrip(new ParseError('unexpected token')) as Error
    expect(decoded).toBeInstanceOf(SyntaxError)
    expect(decoded.name).toBe('ParseError')
  })

  it('decodes a DOMException as one, without taking it for spindle TimeoutError', () => {
    const original = new DOMException('The operation timed out.', 'TimeoutError')
    const decoded = roundTrip(original) as DOMException
    expect(decoded).toBeInstanceOf(DOMException)
    expect(decoded).not.toBeInstanceOf(TimeoutError)
    expect(decoded.name).toBe('TimeoutError')
    expect(decoded.code).toBe(original.code)
    expect(decoded.message).toBe('The operation timed out.')
  })

  it('encodes field values that are not JSON data in a described or tagged form', () => {
    class Model {
      weights = [1, 2]
    }
    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = circular
    const when = new Date('2024-05-06T07:08:09.010Z')
    const original = Object.assign(new Error('odd fields'), {
      fn: function foo() {},
      arrow: () => 1,
      cls: Model,
      sym: Symbol('s'),
      model: new Model(),
      when,
      badDate: new Date(Number.NaN),
      map: new Map<unknown, unknown>([['k', 1], [2, { deep: true }]]),
      set: new Set([1, 'a']),
      big: 12345678901234567890n,
      circular,
      nothing: undefined,
      nan: Number.NaN,
      inf: Number.NEGATIVE_INFINITY,
      re: /ab+c/gi,
      bytes: new Uint8Array([1, 2, 3]),
      floats: new Float64Array([1.5, -2]),
      buffer: Buffer.from('hi'),
      raw: new Uint16Array([7, 8]).buffer,
      boxed: Object(5) as unknown,
    })
    const decoded = roundTrip(original) as Record<string, unknown>
    expect(decoded.fn).toBe('[Function foo]')
    expect(decoded.arrow).toBe('[Function arrow]')
    expect(decoded.cls).toBe('[class Model]')
    expect(typeof decoded.sym).toBe('symbol')
    expect((decoded.sym as symbol).description).toBe('s')
    expect(decoded.model).toBe('[object Model]')
    expect(decoded.when).toBeInstanceOf(Date)
    expect((decoded.when as Date).toISOString()).toBe(when.toISOString())
    expect(Number.isNaN((decoded.badDate as Date).getTime())).toBe(true)
    expect(decoded.map).toEqual(new Map<unknown, unknown>([['k', 1], [2, { deep: true }]]))
    expect(decoded.set).toEqual(new Set([1, 'a']))
    expect(decoded.big).toBe(12345678901234567890n)
    expect(decoded.circular).toEqual({ name: 'loop', self: '[Circular]' })
    expect(Object.hasOwn(decoded, 'nothing')).toBe(true)
    expect(decoded.nothing).toBeUndefined()
    expect(decoded.nan).toBeNaN()
    expect(decoded.inf).toBe(Number.NEGATIVE_INFINITY)
    expect(decoded.re).toEqual(/ab+c/gi)
    expect(decoded.bytes).toEqual(new Uint8Array([1, 2, 3]))
    expect(decoded.floats).toEqual(new Float64Array([1.5, -2]))
    expect(Buffer.isBuffer(decoded.buffer)).toBe(true)
    expect((decoded.buffer as Buffer).toString()).toBe('hi')
    expect(new Uint16Array(decoded.raw as ArrayBuffer)).toEqual(new Uint16Array([7, 8]))
    expect(decoded.boxed).toBe(5)
  })

  it('never throws while encoding hostile values', () => {
    const hostile = new Error('hostile')
    Object.defineProperty(hostile, 'explodes', {
      enumerable: true,
      get() {
        throw new Error('getter bomb')
      },
    })
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    Object.assign(hostile, { revoked: proxy })
    const decoded = roundTrip(hostile) as Record<string, unknown>
    expect(decoded.explodes).toBe('[getter threw]')
    expect(typeof decoded.revoked).toBe('string')
    expect(() => encodeThrown(proxy)).not.toThrow()
    expect(() => decodeThrown(send(encodeThrown(proxy)))).not.toThrow()

    const badMessage = new Error('x')
    Object.defineProperty(badMessage, 'message', {
      get() {
        throw new Error('nope')
      },
    })
    expect((roundTrip(badMessage) as Error).message).toBe('')
  })

  it('survives a cause cycle without hanging, and rebuilds it', () => {
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    Object.defineProperty(a, 'cause', { value: b, enumerable: false, writable: true, configurable: true })
    const decoded = roundTrip(a) as Error
    expect(decoded.message).toBe('a')
    const decodedB = decoded.cause as Error
    expect(decodedB.message).toBe('b')
    expect(decodedB.cause).toBe(decoded)
  })

  it('survives an error that is its own cause, and an error shared in two places', () => {
    const self = new Error('self')
    Object.defineProperty(self, 'cause', { value: self, enumerable: false, writable: true, configurable: true })
    const decodedSelf = roundTrip(self) as Error
    expect(decodedSelf.cause).toBe(decodedSelf)

    const shared = new Error('shared')
    const agg = new AggregateError([shared, shared], 'twice', { cause: shared })
    const decoded = roundTrip(agg) as AggregateError
    expect(decoded.errors[0]).toBe(decoded.errors[1])
    expect(decoded.cause).toBe(decoded.errors[0])
  })

  it('cuts a very long cause chain instead of recursing without end', () => {
    let err = new Error('level 0')
    for (let i = 1; i < 500; i++) err = new Error(`level ${i}`, { cause: err })
    const decoded = roundTrip(err) as Error
    let depth = 0
    for (let e: unknown = decoded; e instanceof Error; e = e.cause) depth++
    expect(depth).toBeGreaterThan(10)
    expect(depth).toBeLessThan(500)
  })

  it('builds new objects on every decode', () => {
    const encoded = encodeThrown(new Error('once'))
    const first = decodeThrown(send(encoded))
    const second = decodeThrown(send(encoded))
    expect(first).not.toBe(second)
  })
})

describe('decodeThrown on malformed input', () => {
  it('does not throw', () => {
    const junk: unknown[] = [
      { t: 'error' },
      { t: 'error', name: 5, message: null, props: null, cause: { t: 'nope' }, errors: 'x' },
      { t: 'ref', id: 99 },
      { t: 'value', v: { $t: 'bytes', type: 'Nope', v: 123 } },
      { t: 'value', v: { $t: 'map', v: 'not entries' } },
      { t: 'value', v: { $t: 'regexp', source: '(', flags: 'zz' } },
      { t: 'value', v: { $t: 'bigint', v: 'not a number' } },
      'string',
      null,
    ]
    for (const value of junk) expect(() => decodeThrown(value as EncodedThrown)).not.toThrow()
    expect(decodeThrown({ t: 'error' } as unknown as EncodedThrown)).toBeInstanceOf(Error)
  })
})
