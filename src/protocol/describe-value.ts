/**
 * Short descriptions of values for error messages: `a function (predict)`, `a Map (3 entries)`,
 * `an instance of class Model`. Never throws: a value that cannot be inspected says so.
 */
import { types } from 'node:util'

export function errorText(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`
    return String(error)
  } catch {
    return 'unprintable'
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function quote(text: string, max = 40): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text)
}

/** A short description of a value for messages: `a function (foo)`, `an instance of class Model`... */
export function describeValue(v: unknown): string {
  try {
    switch (typeof v) {
      case 'undefined':
        return 'undefined'
      case 'boolean':
        return `a boolean (${v})`
      case 'number':
        return `a number (${Object.is(v, -0) ? '-0' : v})`
      case 'bigint':
        return `a bigint (${v}n)`
      case 'string':
        return `a string (${quote(v)})`
      case 'symbol':
        return `a symbol (${v.toString()})`
      case 'function': {
        const name: unknown = (v as { name?: unknown }).name
        const shown = typeof name === 'string' && name !== '' ? name : 'anonymous'
        let source = ''
        try {
          source = Function.prototype.toString.call(v)
        } catch {
          // a proxy
        }
        return source.startsWith('class') ? `a class (${shown})` : `a function (${shown})`
      }
      default:
        break
    }
    if (v === null) return 'null'
    const obj = v as object
    if (types.isProxy(obj)) return 'a Proxy'
    if (Array.isArray(obj)) return `an array (length ${obj.length})`
    if (types.isNativeError(obj) || obj instanceof Error) {
      const err = obj as Error
      return `an error (${String(err.name)}: ${quote(String(err.message), 60)})`
    }
    if (types.isMap(obj)) return withClass(obj, 'Map', `a Map (${plural((obj as Map<unknown, unknown>).size, 'entry', 'entries')})`)
    if (types.isSet(obj)) return withClass(obj, 'Set', `a Set (${plural((obj as Set<unknown>).size, 'member', 'members')})`)
    if (types.isDate(obj)) return withClass(obj, 'Date', 'a Date')
    if (types.isRegExp(obj)) return withClass(obj, 'RegExp', `a RegExp (${String(obj)})`)
    if (types.isPromise(obj)) return 'a Promise'
    if (types.isWeakMap(obj)) return 'a WeakMap'
    if (types.isWeakSet(obj)) return 'a WeakSet'
    if (types.isAnyArrayBuffer(obj)) {
      const kind = types.isSharedArrayBuffer(obj) ? 'a SharedArrayBuffer' : 'an ArrayBuffer'
      return `${kind} (${(obj as ArrayBuffer).byteLength} bytes)`
    }
    if (ArrayBuffer.isView(obj)) {
      const kind = Buffer.isBuffer(obj) ? 'Buffer' : (ownConstructorName(Object.getPrototypeOf(obj) as object) ?? 'view')
      return obj instanceof DataView
        ? `a DataView (${obj.byteLength} bytes)`
        : `a ${kind} (length ${(obj as unknown as { length: number }).length})`
    }
    if (types.isBoxedPrimitive(obj)) return `a boxed primitive (${describeValue(obj.valueOf())})`
    const proto = Object.getPrototypeOf(obj) as object | null
    if (proto === null) return 'an object (with a null prototype)'
    const name = ownConstructorName(proto)
    if (name === 'Object' && (proto === Object.prototype || Object.getPrototypeOf(proto) === null)) return 'an object'
    if (name === undefined) return 'an object with a custom prototype'
    if (name === '') return 'an instance of an anonymous class'
    return `an instance of class ${name}`
  } catch {
    return 'a value that cannot be inspected'
  }
}

/** `a Map`, or `an instance of class Registry (a Map subclass)` for subclasses. */
function withClass(obj: object, builtin: string, plain: string): string {
  const name = ownConstructorName(Object.getPrototypeOf(obj) as object)
  if (name === builtin) return plain
  return `an instance of ${name ? `class ${name}` : 'an anonymous class'} (a ${builtin} subclass)`
}

/** The name of the class a prototype belongs to, or undefined when it has no named constructor. */
export function ownConstructorName(proto: object): string | undefined {
  try {
    const desc = Object.getOwnPropertyDescriptor(proto, 'constructor')
    const ctor: unknown = desc?.value
    if (typeof ctor !== 'function') return undefined
    const name: unknown = (ctor as { name?: unknown }).name
    return typeof name === 'string' ? name : ''
  } catch {
    return undefined
  }
}

/** What a class instance loses by arriving as a plain object: its methods and accessors by name, else its class. */
export function whatIsLost(proto: object, name: string): string {
  const lost: string[] = []
  for (let p: object | null = proto; p !== null && p !== Object.prototype && Object.getPrototypeOf(p) !== null && lost.length <= 3; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Object.getOwnPropertyNames(p)) if (key !== 'constructor' && !lost.includes(key)) lost.push(key)
  }
  const of = name === '' ? 'its class' : `class ${name}`
  if (lost.length === 0) return `it would arrive as a plain object, no longer an instance of ${of}`
  const names = lost.slice(0, 3).join(', ') + (lost.length > 3 ? ', …' : '')
  return `it would arrive as a plain object, without what ${of} defines: ${names}`
}
