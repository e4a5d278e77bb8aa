/**
 * Finds what `structuredClone` / `postMessage` would reject in a value, or would silently damage,
 * before it is sent, so the error can say where it is (`args[1].model.predict`) and what it is.
 *
 * Rejected by the structured clone algorithm: functions, symbols, Promises, WeakMaps, WeakSets,
 * WeakRefs, FinalizationRegistries, proxies, MessagePorts (transfer only) and values nested
 * thousands of levels deep (the serializer recurses; looked for only in thorough checks). Damaged without a word: instances of classes (they
 * arrive as plain objects, without their methods) and subclasses of Map, Set, Array, Date... (they
 * arrive as the plain built-in). Supported built-ins pass: Date, RegExp, Map, Set, ArrayBuffer,
 * SharedArrayBuffer, typed arrays (Buffer included) and DataView, errors, boxed primitives, Blob,
 * and Node's cloneable host objects (KeyObject, CryptoKey, SocketAddress, BlockList,
 * histograms).
 *
 * The walk is iterative (no stack overflow on deep values), visits each object once (cycles and
 * shared references are fine), never reads a typed array's contents, and goes over arrays of
 * primitives in a tight loop.
 */
import { createRequire } from 'node:module'
import { types } from 'node:util'
import { NotCloneableError } from '../errors.js'
import { TYPED_ARRAYS } from './codec-shared.js'
import { describeValue, errorText, ownConstructorName, whatIsLost } from './describe-value.js'
import { findTooDeep } from './clone-depth.js'
import { ARGS, Frame, pathOf, SEG_INDEX, SEG_MAP_KEY, SEG_MAP_VALUE, SEG_PROP, SEG_ROOT, SEG_SET_MEMBER, type NotCloneable } from './value-path.js'

const ARGUMENT_INDEX = new RegExp(`^${ARGS}\\[(\\d+)\\]`)

/** The error of a call of task `label` whose arguments hold `bad` (found from the root `ARGS`). */
export function argumentsNotCloneable(label: string, bad: NotCloneable, cause?: unknown): NotCloneableError {
  const position = ARGUMENT_INDEX.exec(bad.path)?.[1]
  return new NotCloneableError(
    `Cannot send ${position === undefined ? 'the arguments' : `argument ${position}`} of task ${label} to a worker: ` +
      `${bad.path} is ${bad.what}. Pass plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date), ` +
      'or build the object inside the task.',
    bad.path,
    cause === undefined ? undefined : { cause },
  )
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
  return `an instance of ${cls} (${whatIsLost(proto, name!)})`
}

/**
 * An array's own properties that are not indices (`Object.assign([1], { f() {} })`): structured
 * clone copies them too. A key walk per array, so only in thorough checks (after a send failed).
 */
function pushNamedProperties(stack: Frame[], frame: Frame, array: unknown[]): void {
  const keys = Object.keys(array)
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!
    if (String(Number(key) >>> 0) === key) continue // an index
    const x = (array as unknown as Record<string, unknown>)[key]
    if (needsLook(x)) stack.push(new Frame(x, frame, SEG_PROP, key, 0))
  }
}

/** `[]`: the arguments of a call that takes none. Checked on every call, so without allocating. */
function isBareEmptyArray(x: unknown): boolean {
  return Array.isArray(x) && x.length === 0 && Object.getPrototypeOf(x) === Array.prototype
}

/** Whether a value needs a look of its own: objects, functions and symbols. */
function needsLook(x: unknown): boolean {
  const t = typeof x
  return t === 'object' ? x !== null : t === 'function' || t === 'symbol'
}

/**
 * The first thing in `value` (depth first, in property order) that structured clone would reject
 * or silently damage, with its path; undefined when the whole value can be sent. Never throws.
 * `thorough` also walks arrays' named properties: a key walk per array, for explaining a send
 * that failed rather than for every call.
 */
export function findNotCloneable(value: unknown, path = 'value', thorough = false): NotCloneable | undefined {
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
          if (thorough) pushNamedProperties(stack, frame, array)
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
  return thorough ? findTooDeep(value, path) : undefined
}

