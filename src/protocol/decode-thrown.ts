/** Rebuilding a thrown value from its encoding: never throws, even on malformed input. */
import { spindleErrorClasses } from '../errors.js'
import { builtinErrorClasses, DOMExceptionClass, hasOwn, setOwn, TYPED_ARRAYS, type EncodedError, type EncodedThrown } from './codec-shared.js'

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
  const DOMExceptionCtor = DOMExceptionClass
  if (ctorName === 'DOMException' && DOMExceptionCtor) {
    err = withoutStackTrace(() => new DOMExceptionCtor(message, name))
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
