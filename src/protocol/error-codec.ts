/**
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
const MAX_ERROR_DEPTH = 32
/** Field values nested deeper than this are described instead. */
const MAX_VALUE_DEPTH = 32
/** At most this many containers (objects, arrays, maps, sets, errors) per encoding. */
const MAX_NODES = 100_000

const builtinErrorClasses: Record<string, new (...args: never[]) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
}

const DOMExceptionClass: (new (message?: string, name?: string) => Error) | undefined =
  typeof (globalThis as { DOMException?: unknown }).DOMException === 'function'
    ? (globalThis as unknown as { DOMException: new (message?: string, name?: string) => Error }).DOMException
    : undefined

/** Known error prototypes → the name the decoder looks the class up by. */
const knownErrorPrototypes = new Map<object, string>()
for (const [name, cls] of Object.entries(spindleErrorClasses)) knownErrorPrototypes.set(cls.prototype, name)
for (const [name, cls] of Object.entries(builtinErrorClasses)) knownErrorPrototypes.set(cls.prototype, name)
if (DOMExceptionClass) knownErrorPrototypes.set(DOMExceptionClass.prototype, 'DOMException')

const hasOwn = (o: object, key: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(o, key)

/** Sets an own data property even for keys like `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown, enumerable = true): void {
  if (key === '__proto__' || !enumerable) {
    Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}

function safeGet(o: object, key: PropertyKey): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: (o as Record<PropertyKey, unknown>)[key] }
  } catch {
    return { ok: false }
  }
}

function isErrorLike(value: object): boolean {
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

function safeString(value: unknown): string {
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

function functionName(fn: unknown): string {
  const got = safeGet(fn as object, 'name')
  return got.ok && typeof got.value === 'string' && got.value !== '' ? got.value : '(anonymous)'
}

function className(value: object): string {
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

function isPlainObject(value: object): boolean {
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

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView> = {
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

interface EncodeContext {
  /** Errors met so far → their encoding (for cycles and sharing). */
  readonly errors: Map<object, EncodedError>
  nextId: number
  nodes: number
}

/** Turns any thrown value into JSON-safe data. Never throws. */
export function encodeThrown(value: unknown): EncodedThrown {
  try {
    return encodeThrownIn(value, { errors: new Map(), nextId: 0, nodes: 0 }, 0)
  } catch {
    // Only a stack overflow or out-of-memory could get here.
    return { t: 'value', v: '[unencodable thrown value]' }
  }
}

function encodeThrownIn(value: unknown, ctx: EncodeContext, depth: number): EncodedThrown {
  if (value !== null && (typeof value === 'object' || typeof value === 'function') && isErrorLike(value)) {
    return encodeError(value, ctx, depth)
  }
  return { t: 'value', v: encodeValue(value, ctx, depth, 0, []) }
}

function encodeError(err: object, ctx: EncodeContext, depth: number): EncodedThrown {
  const seen = ctx.errors.get(err)
  if (seen) {
    seen.id ??= ctx.nextId++
    return { t: 'ref', id: seen.id }
  }
  ctx.nodes++

  const nameGot = safeGet(err, 'name')
  const messageGot = safeGet(err, 'message')
  const stackGot = safeGet(err, 'stack')
  const codeGot = safeGet(err, 'code')

  const name = nameGot.ok && typeof nameGot.value === 'string' ? nameGot.value : 'Error'
  let message = ''
  if (messageGot.ok && messageGot.value !== undefined) {
    message = typeof messageGot.value === 'string' ? messageGot.value : safeString(messageGot.value)
  }
  const encoded: EncodedError = { t: 'error', ctor: errorCtorName(err), name, message, props: {} }
  if (stackGot.ok && typeof stackGot.value === 'string') encoded.stack = stackGot.value
  const hasCode = codeGot.ok && (typeof codeGot.value === 'string' || typeof codeGot.value === 'number')
  if (hasCode) encoded.code = codeGot.value as string | number
  ctx.errors.set(err, encoded)

  // The order here (props, cause, errors) is the order decodeThrown walks in: a reference always
  // comes after the error it refers to.
  let keys: string[] = []
  try {
    keys = Object.keys(err)
  } catch {
    // revoked proxy
  }
  let aggregateErrors: unknown[] | undefined
  try {
    const desc = Object.getOwnPropertyDescriptor(err, 'errors')
    if (desc && !desc.enumerable && Array.isArray(desc.value)) aggregateErrors = desc.value as unknown[]
  } catch {
    // revoked proxy
  }
  for (const key of keys) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue
    if (key === 'code' && hasCode) continue
    const got = safeGet(err, key)
    setOwn(
      encoded.props,
      key,
      got.ok ? encodeValue(got.value, ctx, depth + 1, 0, []) : '[getter threw]',
    )
  }

  if (depth < MAX_ERROR_DEPTH) {
    let hasCause = false
    try {
      hasCause = hasOwn(err, 'cause')
    } catch {
      // revoked proxy
    }
    if (hasCause) {
      const cause = safeGet(err, 'cause')
      encoded.cause = cause.ok ? encodeThrownIn(cause.value, ctx, depth + 1) : { t: 'value', v: '[getter threw]' }
    }
    if (aggregateErrors) {
      const list: EncodedThrown[] = []
      const length = aggregateErrors.length
      for (let i = 0; i < length; i++) {
        const got = safeGet(aggregateErrors, i)
        list.push(got.ok ? encodeThrownIn(got.value, ctx, depth + 1) : { t: 'value', v: '[getter threw]' })
      }
      encoded.errors = list
    }
  }
  return encoded
}

/** The nearest class on the prototype chain that the decoder can rebuild. */
function errorCtorName(err: object): string {
  try {
    let proto: unknown = Object.getPrototypeOf(err)
    for (let hops = 0; proto !== null && typeof proto === 'object' && hops < 64; hops++) {
      const name = knownErrorPrototypes.get(proto)
      if (name !== undefined) return name
      proto = Object.getPrototypeOf(proto)
    }
  } catch {
    // revoked proxy
  }
  return 'Error'
}

function bytesTag(type: string, view: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): EncodedValue {
  const bytes = ArrayBuffer.isView(view)
    ? Buffer.from(view.buffer, view.byteOffset, view.byteLength)
    : Buffer.from(view as ArrayBuffer)
  return { $t: 'bytes', type, v: bytes.toString('base64') }
}

function encodeValue(value: unknown, ctx: EncodeContext, errorDepth: number, depth: number, ancestors: object[]): EncodedValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value
      return { $t: 'number', v: Object.is(value, -0) ? '-0' : String(value) }
    case 'undefined':
      return { $t: 'undefined' }
    case 'bigint':
      return { $t: 'bigint', v: value.toString() }
    case 'symbol': {
      const key = Symbol.keyFor(value)
      if (key !== undefined) return { $t: 'symbol', for: key }
      return { $t: 'symbol', v: value.description ?? null }
    }
    case 'function':
      return describeFunction(value)
    default:
      break
  }
  if (value === null) return null
  const obj = value as object
  try {
    if (isErrorLike(obj)) {
      return { $t: 'error', v: encodeThrownIn(obj, ctx, errorDepth) as unknown as EncodedValue }
    }
    if (ancestors.includes(obj)) return '[Circular]'
    if (depth >= MAX_VALUE_DEPTH || ctx.nodes >= MAX_NODES) return `[${Array.isArray(obj) ? 'Array' : className(obj)}: not encoded, too deep or too large]`
    ctx.nodes++
    const inner = (v: unknown): EncodedValue => encodeValue(v, ctx, errorDepth, depth + 1, ancestors)

    if (Array.isArray(obj)) {
      ancestors.push(obj)
      const out: EncodedValue[] = new Array<EncodedValue>(obj.length)
      for (let i = 0; i < obj.length; i++) {
        const got = safeGet(obj, i)
        out[i] = got.ok ? inner(got.value) : '[getter threw]'
      }
      ancestors.pop()
      return out
    }
    if (isPlainObject(obj)) {
      ancestors.push(obj)
      const out: Record<string, EncodedValue> = {}
      let tagged = false
      for (const key of Object.keys(obj)) {
        if (key === '$t') tagged = true
        const got = safeGet(obj, key)
        setOwn(out, key, got.ok ? inner(got.value) : '[getter threw]')
      }
      ancestors.pop()
      // A user object that happens to have a `$t` key is wrapped so it is not read as a tag.
      return tagged ? { $t: 'object', v: out } : out
    }
    if (obj instanceof Date) {
      const time = obj.getTime()
      return { $t: 'date', v: Number.isNaN(time) ? null : obj.toISOString() }
    }
    if (obj instanceof RegExp) return { $t: 'regexp', source: obj.source, flags: obj.flags }
    if (obj instanceof Map) {
      ancestors.push(obj)
      const entries: EncodedValue[] = []
      for (const [k, v] of obj) entries.push([inner(k), inner(v)])
      ancestors.pop()
      return { $t: 'map', v: entries }
    }
    if (obj instanceof Set) {
      ancestors.push(obj)
      const members: EncodedValue[] = []
      for (const m of obj) members.push(inner(m))
      ancestors.pop()
      return { $t: 'set', v: members }
    }
    if (ArrayBuffer.isView(obj)) {
      if (Buffer.isBuffer(obj)) return bytesTag('Buffer', obj)
      if (obj instanceof DataView) return bytesTag('DataView', obj)
      const type = className(obj)
      return bytesTag(type in TYPED_ARRAYS ? type : 'Uint8Array', obj)
    }
    if (obj instanceof ArrayBuffer) return bytesTag('ArrayBuffer', obj)
    if (typeof SharedArrayBuffer === 'function' && obj instanceof SharedArrayBuffer) return bytesTag('SharedArrayBuffer', obj)
    if (obj instanceof Number || obj instanceof String || obj instanceof Boolean) {
      return inner(obj.valueOf())
    }
    return `[object ${className(obj)}]`
  } catch {
    return '[unencodable value]'
  }
}

function describeFunction(fn: unknown): string {
  let source = ''
  try {
    source = Function.prototype.toString.call(fn)
  } catch {
    // not a real function (a proxy)
  }
  const name = functionName(fn)
  if (source.startsWith('class')) return name === '(anonymous)' ? '[class (anonymous)]' : `[class ${name}]`
  return `[Function ${name}]`
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface DecodeContext {
  readonly byId: Map<number, unknown>
}

/** Rebuilds the value `encodeThrown` encoded. Each call builds new objects. Never throws. */
export function decodeThrown(encoded: EncodedThrown): unknown {
  try {
    return decodeThrownIn(encoded, { byId: new Map() })
  } catch {
    return new Error('[undecodable thrown value]')
  }
}

function decodeThrownIn(encoded: unknown, ctx: DecodeContext): unknown {
  if (encoded === null || typeof encoded !== 'object') return encoded
  const node = encoded as { t?: unknown; v?: unknown; id?: unknown }
  switch (node.t) {
    case 'error':
      return decodeError(node as Partial<EncodedError>, ctx)
    case 'value':
      return decodeValue(node.v, ctx)
    case 'ref':
      return ctx.byId.has(node.id as number)
        ? ctx.byId.get(node.id as number)
        : new Error('[reference to an error that was not sent]')
    default:
      return encoded
  }
}

function withoutStackTrace<T>(make: () => T): T {
  const limit = Error.stackTraceLimit
  try {
    Error.stackTraceLimit = 0
  } catch {
    // frozen Error
  }
  try {
    return make()
  } finally {
    try {
      Error.stackTraceLimit = limit
    } catch {
      // frozen Error
    }
  }
}

function defineHidden(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true })
}

function decodeError(node: Partial<EncodedError>, ctx: DecodeContext): Error {
  const name = typeof node.name === 'string' ? node.name : 'Error'
  const message = typeof node.message === 'string' ? node.message : ''
  const ctorName = typeof node.ctor === 'string' ? node.ctor : 'Error'

  let err: Error
  if (ctorName === 'DOMException' && DOMExceptionClass) {
    err = withoutStackTrace(() => new DOMExceptionClass(message, name))
  } else {
    const cls =
      (hasOwn(spindleErrorClasses, ctorName) ? spindleErrorClasses[ctorName] : undefined) ??
      (hasOwn(builtinErrorClasses, ctorName) ? builtinErrorClasses[ctorName] : undefined) ??
      Error
    // A real error object (internal error slot, so it prints and brands as one) with the class's
    // prototype, without running the class's constructor (whose signature may differ).
    err = withoutStackTrace(() => Reflect.construct(Error, [], cls) as Error)
    defineHidden(err, 'message', message)
    if (name !== (err as { name?: unknown }).name) defineHidden(err, 'name', name)
  }
  if (typeof node.stack === 'string') defineHidden(err, 'stack', node.stack)
  else delete (err as { stack?: unknown }).stack

  if (typeof node.id === 'number') ctx.byId.set(node.id, err)

  if (typeof node.code === 'string' || typeof node.code === 'number') {
    if (!(ctorName === 'DOMException' && DOMExceptionClass)) setOwn(err as unknown as Record<string, unknown>, 'code', node.code)
  }
  const props = node.props
  if (props !== null && typeof props === 'object') {
    for (const key of Object.keys(props)) {
      try {
        Object.defineProperty(err, key, {
          value: decodeValue(props[key], ctx),
          enumerable: true,
          writable: true,
          configurable: true,
        })
      } catch {
        // a non-configurable property of the same name: keep it
      }
    }
  }
  if (node.cause !== undefined) defineHidden(err, 'cause', decodeThrownIn(node.cause, ctx))
  if (Array.isArray(node.errors)) defineHidden(err, 'errors', node.errors.map((e) => decodeThrownIn(e, ctx)))
  return err
}

function decodeValue(value: unknown, ctx: DecodeContext): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => decodeValue(v, ctx))
  const obj = value as Record<string, unknown>
  const tag = obj.$t
  if (typeof tag !== 'string') return decodePlain(obj, ctx)
  switch (tag) {
    case 'undefined':
      return undefined
    case 'number':
      return obj.v === '-0' ? -0 : Number(obj.v)
    case 'bigint':
      try {
        return BigInt(obj.v as string)
      } catch {
        return obj.v
      }
    case 'symbol':
      if (typeof obj.for === 'string') return Symbol.for(obj.for)
      return typeof obj.v === 'string' ? Symbol(obj.v) : Symbol()
    case 'date':
      return new Date(typeof obj.v === 'string' ? obj.v : NaN)
    case 'regexp':
      try {
        return new RegExp(String(obj.source), String(obj.flags))
      } catch {
        return `/${String(obj.source)}/${String(obj.flags)}`
      }
    case 'map': {
      const map = new Map<unknown, unknown>()
      if (Array.isArray(obj.v)) {
        for (const entry of obj.v) {
          if (Array.isArray(entry)) map.set(decodeValue(entry[0], ctx), decodeValue(entry[1], ctx))
        }
      }
      return map
    }
    case 'set':
      return new Set(Array.isArray(obj.v) ? obj.v.map((m) => decodeValue(m, ctx)) : [])
    case 'bytes':
      return decodeBytes(String(obj.type), typeof obj.v === 'string' ? obj.v : '')
    case 'error':
      return decodeThrownIn(obj.v, ctx)
    case 'object':
      return obj.v !== null && typeof obj.v === 'object' ? decodePlain(obj.v as Record<string, unknown>, ctx) : obj.v
    default:
      return decodePlain(obj, ctx)
  }
}

function decodePlain(obj: Record<string, unknown>, ctx: DecodeContext): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(obj)) setOwn(out, key, decodeValue(obj[key], ctx))
  return out
}

function decodeBytes(type: string, base64: string): unknown {
  const bytes = Buffer.from(base64, 'base64')
  if (type === 'Buffer') return bytes
  // A fresh, exactly sized ArrayBuffer (Buffer.from may return a slice of a shared pool).
  const buffer = new ArrayBuffer(bytes.byteLength)
  new Uint8Array(buffer).set(bytes)
  if (type === 'ArrayBuffer') return buffer
  if (type === 'SharedArrayBuffer' && typeof SharedArrayBuffer === 'function') {
    const shared = new SharedArrayBuffer(bytes.byteLength)
    new Uint8Array(shared).set(bytes)
    return shared
  }
  if (type === 'DataView') return new DataView(buffer)
  const cls = hasOwn(TYPED_ARRAYS, type) ? TYPED_ARRAYS[type] : undefined
  if (cls) {
    const perElement = (cls as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
    if (bytes.byteLength % perElement === 0) return new cls(buffer, 0, bytes.byteLength / perElement)
  }
  return new Uint8Array(buffer)
}
