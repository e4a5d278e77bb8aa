/** Encoding a thrown value into JSON data: never throws, whatever it is given. */
import {
  MAX_ERROR_DEPTH,
  MAX_VALUE_DEPTH,
  MAX_NODES,
  knownErrorPrototypes,
  hasOwn,
  setOwn,
  safeGet,
  isErrorLike,
  safeString,
  functionName,
  className,
  isPlainObject,
  TYPED_ARRAYS,
  type EncodedValue,
  type EncodedError,
  type EncodedThrown,
} from './codec-shared.js'

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
