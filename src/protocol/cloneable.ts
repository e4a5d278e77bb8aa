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
 * What each kind of object gets is clone-verdict.ts's. The walk is iterative (no stack overflow on deep values), visits each object once (cycles and
 * shared references are fine), never reads a typed array's contents, and goes over arrays of
 * primitives in a tight loop.
 */
import { types } from 'node:util'
import { NotCloneableError } from '../errors.js'
import { ARRAY, classify, LEAF, MAP, PLAIN, SET } from './clone-verdict.js'
import { describeValue, errorText } from './describe-value.js'
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

