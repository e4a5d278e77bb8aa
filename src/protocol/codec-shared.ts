/**
 * The encoded shapes and the helpers shared by encode-thrown.ts and decode-thrown.ts.
 *
 * Lossless transport of thrown values across a structured-clone (postMessage) or JSON boundary.
 *
 * `structuredClone` keeps only an error's name (built-in names only), message, stack and, on newer
 * runtimes, its cause: custom fields, `code`, custom class names and `AggregateError.errors` are
 * lost, and JSON loses everything. So a thrown value is encoded into plain JSON data first (plain
 * objects, arrays, strings, finite numbers, booleans, null) and rebuilt on the other side.
 *
 * - Errors keep name, message, the remote stack as-is, `code`, own enumerable fields, the `cause`
 *   chain and `errors` (AggregateError). Built-in error classes and spindle's classes come back
 *   with their own prototype; other classes come back as the nearest such class (usually `Error`)
 *   with their `name`.
 * - An error reached twice (a cause cycle, the same error in two places) is encoded once and
 *   referred to after that, so cycles and sharing come back as they were.
 * - Field values: JSON values pass through; `undefined`, NaN, ±Infinity, -0, bigint, registered
 *   and other symbols, Date, RegExp, Map, Set, ArrayBuffers and typed arrays (Buffer included) and
 *   nested errors are tagged and rebuilt. What cannot travel is described in a string: functions
 *   (`'[Function foo]'`), class instances (`'[object Model]'`), circular references
 *   (`'[Circular]'`), getters that throw.
 * - Encoding never throws, whatever it is given (revoked proxies, throwing getters, hostile
 *   `prepareStackTrace`); decoding never throws either, even on malformed input.
 */
import { spindleErrorClasses } from '../errors.js'

/** JSON data. Objects with a string `$t` key are tagged values (see the module comment). */
export type EncodedValue = null | boolean | number | string | EncodedValue[] | { [key: string]: EncodedValue }

/** A thrown Error (or anything that brands as one). */
export interface EncodedError {
  t: 'error'
  /** The class it is rebuilt as: a built-in error class, one of spindle's, or 'DOMException'. */
  ctor: string
  name: string
  message: string
  /** The stack as it was on the side that threw; absent when the error had none. */
  stack?: string
  /** `err.code`, when it is a string or a number. */
  code?: string | number
  /** Own enumerable fields other than the ones above. */
  props: Record<string, EncodedValue>
  /** Present when the error had an own `cause` (even `undefined`). */
  cause?: EncodedThrown
  /** `AggregateError.errors` (an own, non-enumerable array). */
  errors?: EncodedThrown[]
  /** Set when this error is referred to elsewhere in the same encoding (see EncodedRef). */
  id?: number
}

/** A thrown value that is not an Error: a string, a number, a plain object, undefined... */
export interface EncodedOther {
  t: 'value'
  v: EncodedValue
}

/** An error already encoded earlier in the same encoding (a cycle or a shared error). */
export interface EncodedRef {
  t: 'ref'
  id: number
}

export type EncodedThrown = EncodedError | EncodedOther | EncodedRef

/** Causes / nested errors deeper than this are dropped. */
export const MAX_ERROR_DEPTH = 32
/** Field values nested deeper than this are described instead. */
export const MAX_VALUE_DEPTH = 32
/** At most this many containers (objects, arrays, maps, sets, errors) per encoding. */
export const MAX_NODES = 100_000

export const builtinErrorClasses: Record<string, new (...args: never[]) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
}

export const DOMExceptionClass: (new (message?: string, name?: string) => Error) | undefined =
  typeof (globalThis as { DOMException?: unknown }).DOMException === 'function'
    ? (globalThis as unknown as { DOMException: new (message?: string, name?: string) => Error }).DOMException
    : undefined

/** Known error prototypes → the name the decoder looks the class up by. */
export const knownErrorPrototypes = new Map<object, string>()
for (const [name, cls] of Object.entries(spindleErrorClasses)) knownErrorPrototypes.set(cls.prototype, name)
for (const [name, cls] of Object.entries(builtinErrorClasses)) knownErrorPrototypes.set(cls.prototype, name)
if (DOMExceptionClass) knownErrorPrototypes.set(DOMExceptionClass.prototype, 'DOMException')

export const hasOwn = (o: object, key: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(o, key)

/** Sets an own data property even for keys like `__proto__`. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown, enumerable = true): void {
  if (key === '__proto__' || !enumerable) {
    Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}

export function safeGet(o: object, key: PropertyKey): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: (o as Record<PropertyKey, unknown>)[key] }
  } catch {
    return { ok: false }
  }
}

export function isErrorLike(value: object): boolean {
  try {
    if (value instanceof Error) return true
  } catch {
    // instanceof on a revoked proxy throws
  }
  try {
    return Object.prototype.toString.call(value) === '[object Error]'
  } catch {
    return false
  }
}

export function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    try {
      return Object.prototype.toString.call(value)
    } catch {
      return '[unprintable]'
    }
  }
}

export function functionName(fn: unknown): string {
  const got = safeGet(fn as object, 'name')
  return got.ok && typeof got.value === 'string' && got.value !== '' ? got.value : '(anonymous)'
}

export function className(value: object): string {
  try {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto === null || proto === undefined) return 'Object'
    const ctor = safeGet(proto as object, 'constructor')
    if (ctor.ok && typeof ctor.value === 'function') {
      const name = functionName(ctor.value)
      return name === '(anonymous)' ? 'anonymous class' : name
    }
  } catch {
    // fall through
  }
  return 'Object'
}

export function isPlainObject(value: object): boolean {
  try {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto === null || proto === Object.prototype) return true
    // A plain object from another realm (vm context): its prototype is that realm's Object.prototype.
    if (typeof proto === 'object' && Object.getPrototypeOf(proto) === null) {
      const ctor = safeGet(proto, 'constructor')
      return ctor.ok && typeof ctor.value === 'function' && functionName(ctor.value) === 'Object'
    }
  } catch {
    // revoked proxy
  }
  return false
}

export const TYPED_ARRAYS: Record<string, new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
}
