/**
 * Finds what `structuredClone` / `postMessage` would reject in a value, or would silently damage,
 * before it is sent, so the error can say where it is (`args[1].model.predict`) and what it is.
 *
 * Rejected by the structured clone algorithm: functions, symbols, Promises, WeakMaps, WeakSets,
 * WeakRefs, FinalizationRegistries and proxies. Damaged without a word: instances of classes (they
 * arrive as plain objects, without their methods) and subclasses of Map, Set, Array, Date... (they
 * arrive as the plain built-in). Supported built-ins pass: Date, RegExp, Map, Set, ArrayBuffer,
 * SharedArrayBuffer, typed arrays (Buffer included) and DataView, errors, boxed primitives, Blob,
 * MessagePort, and Node's cloneable host objects (KeyObject, CryptoKey, SocketAddress, BlockList,
 * histograms).
 *
 * The walk is iterative (no stack overflow on deep values), visits each object once (cycles and
 * shared references are fine), never reads a typed array's contents, and goes over arrays of
 * primitives in a tight loop.
 */
import { createRequire } from 'node:module'
import { types } from 'node:util'
import { TYPED_ARRAYS } from './codec-shared.js'

export interface NotCloneable {
  /** Where the value sits, e.g. `args[1].model.predict` or `value.get("key")`. */
  path: string
  /** What it is and why it cannot be sent, e.g. `a function (predict)`. */
  what: string
}

// How an object is walked, or (a string) what is wrong with it.
const PLAIN = 0
const ARRAY = 1
const MAP = 2
const SET = 3
const LEAF = 4
type Verdict = typeof PLAIN | typeof ARRAY | typeof MAP | typeof SET | typeof LEAF | string

const PROMISE_WHAT = 'a Promise (await it and send its result)'
const weakWhat = (kind: string): string => `a ${kind} (it cannot be copied)`

/** Exact prototypes of the built-ins, and what to do with their instances. */
const knownPrototypes = new Map<object, Verdict>()
{
  const leafClasses: Array<{ prototype: object } | undefined> = [
    Date,
    RegExp,
    ArrayBuffer,
    typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : undefined,
    DataView,
    ...Object.values(TYPED_ARRAYS),
    Boolean,
    Number,
    String,
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
    AggregateError,
  ]
  for (const cls of leafClasses) if (cls) knownPrototypes.set(cls.prototype, LEAF)
  knownPrototypes.set(Object.prototype, PLAIN)
  knownPrototypes.set(Array.prototype, ARRAY)
  knownPrototypes.set(Map.prototype, MAP)
  knownPrototypes.set(Set.prototype, SET)
  knownPrototypes.set(Promise.prototype, PROMISE_WHAT)
  knownPrototypes.set(WeakMap.prototype, weakWhat('WeakMap'))
  knownPrototypes.set(WeakSet.prototype, weakWhat('WeakSet'))
  if (typeof WeakRef === 'function') knownPrototypes.set(WeakRef.prototype, weakWhat('WeakRef'))
  if (typeof FinalizationRegistry === 'function') {
    knownPrototypes.set(FinalizationRegistry.prototype, weakWhat('FinalizationRegistry'))
  }
}

/** Verdicts for other prototypes, worked out once per prototype. */
const verdictCache = new WeakMap<object, Verdict>()

/** Host classes whose instances (and subclasses' instances) clone fine. Loaded on first need. */
let hostClasses: Array<abstract new (...args: never[]) => unknown> | undefined

function loadHostClasses(): Array<abstract new (...args: never[]) => unknown> {
  const found: unknown[] = []
  const g = globalThis as Record<string, unknown>
  found.push(g.Blob, g.File, g.MessagePort, g.CryptoKey)
  try {
    const require = createRequire(import.meta.url)
    const crypto = require('node:crypto') as { KeyObject?: unknown; webcrypto?: { CryptoKey?: unknown } }
    found.push(crypto.KeyObject, crypto.webcrypto?.CryptoKey)
    const net = require('node:net') as { SocketAddress?: unknown; BlockList?: unknown }
    found.push(net.SocketAddress, net.BlockList)
    const workers = require('node:worker_threads') as { MessagePort?: unknown }
    found.push(workers.MessagePort)
    const perf = require('node:perf_hooks') as { createHistogram?: () => object }
    if (typeof perf.createHistogram === 'function') {
      const histogramProto: unknown = Object.getPrototypeOf(perf.createHistogram())
      const ctor = (histogramProto as { constructor?: unknown } | null)?.constructor
      found.push(ctor)
    }
  } catch {
    // not on Node, or a module is missing: the globals will do
  }
  return found.filter((c): c is abstract new (...args: never[]) => unknown => typeof c === 'function')
}

function isHostInstance(value: object): boolean {
  hostClasses ??= loadHostClasses()
  for (const cls of hostClasses) {
    try {
      if (value instanceof cls) return true
    } catch {
      // a class with a throwing Symbol.hasInstance
    }
  }
  return false
}

/** The name of the class a prototype belongs to, or undefined when it has no named constructor. */
function ownConstructorName(proto: object): string | undefined {
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

function builtinBrand(value: object): string | undefined {
  if (Array.isArray(value)) return 'Array'
  if (types.isMap(value)) return 'Map'
  if (types.isSet(value)) return 'Set'
  if (types.isDate(value)) return 'Date'
  if (types.isRegExp(value)) return 'RegExp'
  if (types.isNumberObject(value)) return 'Number'
  if (types.isStringObject(value)) return 'String'
  if (types.isBooleanObject(value)) return 'Boolean'
  return undefined
}

function classify(value: object, proto: object): Verdict {
  const known = knownPrototypes.get(proto)
  if (known !== undefined) return known
  let verdict = verdictCache.get(proto)
  if (verdict === undefined) {
    verdict = classifyNew(value, proto)
    verdictCache.set(proto, verdict)
  }
  return verdict
}

function classifyNew(value: object, proto: object): Verdict {
  if (ArrayBuffer.isView(value) || types.isAnyArrayBuffer(value)) return LEAF // Buffer, subclasses
  if (types.isNativeError(value) || value instanceof Error) return LEAF // Error subclasses
  if (isHostInstance(value)) return LEAF
  if (types.isPromise(value)) return PROMISE_WHAT
  if (types.isWeakMap(value)) return weakWhat('WeakMap')
  if (types.isWeakSet(value)) return weakWhat('WeakSet')

  const name = ownConstructorName(proto)
  // Does the chain reach this realm's built-ins? If not, the value comes from another realm
  // (a vm context), where a plain object's prototype is that realm's Object.prototype.
  let reachesThisRealm = false
  for (let p: unknown = Object.getPrototypeOf(proto), hops = 0; p !== null && hops < 1000; hops++) {
    if (knownPrototypes.has(p as object)) {
      reachesThisRealm = true
      break
    }
    p = Object.getPrototypeOf(p)
  }
  const brand = builtinBrand(value)
  if (!reachesThisRealm) {
    if (brand === 'Array' && name === 'Array') return ARRAY
    if (brand === 'Map' && name === 'Map') return MAP
    if (brand === 'Set' && name === 'Set') return SET
    if (brand !== undefined && name === brand) return LEAF
    if (brand === undefined && name === 'Object' && Object.getPrototypeOf(proto) === null) return PLAIN
  }
  const cls = name === undefined ? undefined : name === '' ? 'an anonymous class' : `class ${name}`
  if (brand !== undefined) {
    const article = brand === 'Array' ? 'an' : 'a'
    return `an instance of ${cls ?? 'a custom prototype'} (${article} ${brand} subclass: it would arrive as a plain ${brand}, without its methods)`
  }
  if (cls === undefined) return 'an object with a custom prototype (what it inherits would be lost)'
  return `an instance of ${cls} (its methods would be lost)`
}

// ---------------------------------------------------------------------------------------------
// Paths

const SEG_ROOT = 0
const SEG_PROP = 1
const SEG_INDEX = 2
const SEG_MAP_KEY = 3
const SEG_MAP_VALUE = 4
const SEG_SET_MEMBER = 5

/** One value waiting to be checked, with how it was reached (the path is only built on a find). */
class Frame {
  constructor(
    readonly value: unknown,
    readonly parent: Frame | undefined,
    readonly seg: number,
    /** The property name, the index, or the Map key. */
    readonly key: unknown,
    /** The position among a Map's or Set's entries. */
    readonly position: number,
  ) {}
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function mapKeyText(key: unknown): string | undefined {
  switch (typeof key) {
    case 'string':
      return key.length <= 60 ? JSON.stringify(key) : undefined
    case 'number':
      return Object.is(key, -0) ? '-0' : String(key)
    case 'bigint':
      return `${key}n`
    case 'boolean':
    case 'undefined':
      return String(key)
    default:
      return key === null ? 'null' : undefined
  }
}

function segmentText(frame: Frame): string {
  switch (frame.seg) {
    case SEG_PROP: {
      const key = frame.key as string
      return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
    }
    case SEG_INDEX:
      return `[${frame.key as number}]`
    case SEG_MAP_KEY:
      return `.keys()[${frame.position}]`
    case SEG_MAP_VALUE: {
      const text = mapKeyText(frame.key)
      return text === undefined ? `.values()[${frame.position}]` : `.get(${text})`
    }
    case SEG_SET_MEMBER:
      return `.values()[${frame.position}]`
    default:
      return ''
  }
}

function pathOf(frame: Frame, root: string): string {
  const parts: string[] = []
  for (let f: Frame | undefined = frame; f !== undefined && f.seg !== SEG_ROOT; f = f.parent) parts.push(segmentText(f))
  return root + parts.reverse().join('')
}

// ---------------------------------------------------------------------------------------------

/** Whether a value needs a look of its own: objects, functions and symbols. */
/** `[]`: the arguments of a call that takes none. Checked on every call, so without allocating. */
function isBareEmptyArray(x: unknown): boolean {
  return Array.isArray(x) && x.length === 0 && Object.getPrototypeOf(x) === Array.prototype
}

function needsLook(x: unknown): boolean {
  const t = typeof x
  return t === 'object' ? x !== null : t === 'function' || t === 'symbol'
}

/**
 * The first thing in `value` (depth first, in property order) that structured clone would reject
 * or silently damage, with its path; undefined when the whole value can be sent. Never throws.
 */
export function findNotCloneable(value: unknown, path = 'value'): NotCloneable | undefined {
  if (!needsLook(value) || isBareEmptyArray(value)) return undefined
  const stack: Frame[] = [new Frame(value, undefined, SEG_ROOT, undefined, 0)]
  const visited = new Set<object>()
  const found = (frame: Frame, what: string): NotCloneable => ({ path: pathOf(frame, path), what })

  while (stack.length > 0) {
    const frame = stack.pop() as Frame
    const v = frame.value
    const t = typeof v
    if (t === 'function' || t === 'symbol') return found(frame, describeValue(v))
    if (t !== 'object' || v === null) continue
    const obj = v as object
    if (visited.has(obj)) continue
    visited.add(obj)

    try {
      if (types.isProxy(obj)) return found(frame, 'a Proxy (it cannot be copied)')
      const proto = Object.getPrototypeOf(obj) as object | null
      const verdict = proto === null ? PLAIN : classify(obj, proto)
      switch (verdict) {
        case LEAF:
          continue
        case ARRAY: {
          const array = obj as unknown[]
          for (let i = array.length - 1; i >= 0; i--) {
            const x = array[i]
            const tx = typeof x
            if (tx === 'object' ? x !== null : tx === 'function' || tx === 'symbol') {
              stack.push(new Frame(x, frame, SEG_INDEX, i, 0))
            }
          }
          continue
        }
        case PLAIN: {
          const record = obj as Record<string, unknown>
          const keys = Object.keys(record)
          for (let i = keys.length - 1; i >= 0; i--) {
            const key = keys[i] as string
            let x: unknown
            try {
              x = record[key]
            } catch (error) {
              return found(new Frame(undefined, frame, SEG_PROP, key, 0), `a getter that threw (${errorText(error)})`)
            }
            if (needsLook(x)) stack.push(new Frame(x, frame, SEG_PROP, key, 0))
          }
          continue
        }
        case MAP: {
          const pending: Frame[] = []
          let position = 0
          for (const [k, x] of obj as Map<unknown, unknown>) {
            if (needsLook(k)) pending.push(new Frame(k, frame, SEG_MAP_KEY, k, position))
            if (needsLook(x)) pending.push(new Frame(x, frame, SEG_MAP_VALUE, k, position))
            position++
          }
          for (let i = pending.length - 1; i >= 0; i--) stack.push(pending[i] as Frame)
          continue
        }
        case SET: {
          const pending: Frame[] = []
          let position = 0
          for (const x of obj as Set<unknown>) {
            if (needsLook(x)) pending.push(new Frame(x, frame, SEG_SET_MEMBER, x, position))
            position++
          }
          for (let i = pending.length - 1; i >= 0; i--) stack.push(pending[i] as Frame)
          continue
        }
        default:
          return found(frame, verdict)
      }
    } catch (error) {
      // A revoked proxy, a throwing getPrototypeOf trap...: clone would fail on it too.
      return found(frame, `a value that cannot be inspected (${errorText(error)})`)
    }
  }
  return undefined
}

function errorText(error: unknown): string {
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
