/**
 * What structured clone does with an object, judged by its prototype: walks it as a plain
 * object, an array, a Map or a Set; copies it whole (a leaf: Date, typed arrays, errors, Node's
 * cloneable host objects...); or rejects or damages it, said as a string for the error. The
 * built-ins' prototypes are known; any other is judged once (a class instance, a subclass of a
 * built-in, a value from another realm) and remembered. cloneable.ts walks values with it.
 */
import { createRequire } from 'node:module'
import { types } from 'node:util'
import { builtinErrorClasses, TYPED_ARRAYS } from './codec-shared.js'
import { ownConstructorName, whatIsLost } from './describe-value.js'

// How an object is walked, or (a string) what is wrong with it.
export const PLAIN = 0
export const ARRAY = 1
export const MAP = 2
export const SET = 3
export const LEAF = 4
export type Verdict = typeof PLAIN | typeof ARRAY | typeof MAP | typeof SET | typeof LEAF | string

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
    ...Object.values(builtinErrorClasses),
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
  // Structured clone moves a port only when it is in the transfer list, and spindle sends copies.
  const port = (globalThis as { MessagePort?: { prototype: object } }).MessagePort
  if (port !== undefined) knownPrototypes.set(port.prototype, 'a MessagePort (a port can only be transferred, never copied: open the channel inside the task, or pass data)')
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
  found.push(g.Blob, g.File, g.CryptoKey)
  try {
    const require = createRequire(import.meta.url)
    const crypto = require('node:crypto') as { KeyObject?: unknown; webcrypto?: { CryptoKey?: unknown } }
    found.push(crypto.KeyObject, crypto.webcrypto?.CryptoKey)
    const net = require('node:net') as { SocketAddress?: unknown; BlockList?: unknown }
    found.push(net.SocketAddress, net.BlockList)
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

/** How an object with prototype `proto` is walked, or what is wrong with it; worked out once per prototype. */
export function classify(value: object, proto: object): Verdict {
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
  return `an instance of ${cls} (${whatIsLost(proto, name!)})`
}
