/**
 * A canonical encoding of argument values, fed straight into a hash, for step cache keys.
 *
 * Equal values must give equal bytes, and values a task could tell apart must give different
 * bytes, or the cache returns a stale result. So:
 * - object keys are sorted (key order is an accident of construction), while Map and Set entries
 *   keep insertion order (a task iterating them sees that order; a different order is a miss,
 *   never a wrong hit);
 * - every value carries a type tag: `undefined` vs a missing key, `-0` vs `0`, NaN, bigint vs
 *   number, Map vs object, Buffer vs Uint8Array vs Float64Array, Date, RegExp, boxed primitives,
 *   class instances (by class name) all differ;
 * - each object is encoded once; meeting it again (a cycle or a shared reference) encodes a
 *   back-reference by visit number, as structured clone preserves that sharing too;
 * - typed arrays and ArrayBuffers are hashed as raw bytes, without copying them;
 * - functions, unregistered symbols, Promises and Weak* collections cannot be part of a key (their
 *   content cannot be seen), and are rejected with the path to them (`args[1].model.predict`).
 *
 * Every token is self-delimiting (a tag, then a terminator, a length or a JSON string), so the
 * concatenation is unambiguous. Tokens are buffered into 64 KiB strings: one `hash.update` per
 * element would cost more than the hashing.
 */
import type { Hash } from 'node:crypto'
import { SpindleError } from '../errors.js'

const FLUSH_AT = 1 << 16

class Feed {
  #pending = ''
  readonly #hash: Hash
  readonly #seen = new Map<object, number>()

  constructor(hash: Hash) {
    this.#hash = hash
  }

  text(token: string): void {
    this.#pending += token
    if (this.#pending.length >= FLUSH_AT) this.flush()
  }

  bytes(tag: string, view: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): void {
    const bytes = ArrayBuffer.isView(view) ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : new Uint8Array(view)
    this.text(`${tag}${bytes.byteLength}:`)
    this.flush()
    this.#hash.update(bytes)
  }

  flush(): void {
    if (this.#pending.length > 0) this.#hash.update(this.#pending, 'utf8')
    this.#pending = ''
  }

  value(value: unknown, path: string): void {
    switch (typeof value) {
      case 'undefined':
        return this.text('u')
      case 'boolean':
        return this.text(value ? 't' : 'f')
      case 'number':
        if (Object.is(value, -0)) return this.text('z')
        return this.text(Number.isNaN(value) ? 'N' : `d${value};`)
      case 'bigint':
        return this.text(`b${value};`)
      case 'string':
        return this.text(`s${JSON.stringify(value)}`)
      case 'symbol': {
        const key = Symbol.keyFor(value)
        if (key === undefined) throw notCacheable(path, `a symbol (${value.toString()}), which has no content to compare`)
        return this.text(`y${JSON.stringify(key)}`)
      }
      case 'function':
        throw notCacheable(path, `a function (${value.name || 'anonymous'})`)
      default:
        if (value === null) return this.text('n')
        return this.object(value as object, path)
    }
  }

  object(obj: object, path: string): void {
    const seen = this.#seen.get(obj)
    if (seen !== undefined) return this.text(`r${seen};`)
    this.#seen.set(obj, this.#seen.size)

    if (Array.isArray(obj)) {
      this.text(`a${obj.length}[`)
      for (let i = 0; i < obj.length; i++) {
        if (i in obj) this.value(obj[i], `${path}[${i}]`)
        else this.text('h') // a hole, which structured clone keeps
      }
      return this.text(']')
    }
    if (ArrayBuffer.isView(obj)) {
      const kind = Buffer.isBuffer(obj) ? 'Buffer' : Object.prototype.toString.call(obj).slice(8, -1)
      return this.bytes(`v${JSON.stringify(kind)}`, obj)
    }
    if (obj instanceof ArrayBuffer) return this.bytes('B', obj)
    if (typeof SharedArrayBuffer === 'function' && obj instanceof SharedArrayBuffer) return this.bytes('S', obj)
    if (obj instanceof Date) return this.text(`D${obj.getTime()};`)
    if (obj instanceof RegExp) return this.text(`R${JSON.stringify(obj.source)}${JSON.stringify(obj.flags)}`)
    if (obj instanceof Map) {
      this.text(`M${obj.size}{`)
      let i = 0
      for (const [k, v] of obj) {
        this.value(k, `${path}[Map key ${i}]`)
        this.value(v, `${path}[Map value ${i++}]`)
      }
      return this.text('}')
    }
    if (obj instanceof Set) {
      this.text(`T${obj.size}{`)
      let i = 0
      for (const member of obj) this.value(member, `${path}[Set member ${i++}]`)
      return this.text('}')
    }
    if (obj instanceof Number || obj instanceof String || obj instanceof Boolean || obj instanceof BigInt) {
      this.text('P')
      return this.value(obj.valueOf(), path)
    }
    if (obj instanceof Promise) throw notCacheable(path, 'a Promise (await it and pass its result)')
    if (obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof WeakRef) {
      throw notCacheable(path, `a ${Object.prototype.toString.call(obj).slice(8, -1)}, whose content cannot be read`)
    }
    this.text(this.#kindOf(obj))
    this.properties(obj, path)
  }

  /** Own enumerable string keys, sorted, each as a JSON string followed by its value. */
  properties(obj: object, path: string): void {
    this.text('{')
    const record = obj as Record<string, unknown>
    for (const key of Object.keys(obj).sort()) {
      this.text(JSON.stringify(key))
      this.value(record[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`)
    }
    this.text('}')
  }

  /** `o` for plain objects; errors and class instances also carry what makes them differ. */
  #kindOf(obj: object): string {
    const proto: unknown = Object.getPrototypeOf(obj)
    if (proto === null || proto === Object.prototype) return 'o'
    if (obj instanceof Error) return `E${JSON.stringify([obj.name, obj.message])}`
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor
    return `c${JSON.stringify(typeof ctor?.name === 'string' ? ctor.name : '?')}`
  }
}

/** Feeds the canonical encoding of `value` into `hash`; throws for values that cannot be keyed. */
export function hashStable(hash: Hash, value: unknown, path = 'value'): void {
  const feed = new Feed(hash)
  feed.value(value, path)
  feed.flush()
}

function notCacheable(path: string, what: string): SpindleError {
  return new SpindleError(
    'ERR_SPINDLE_NOT_CACHEABLE',
    `Cannot compute a cache key: ${path} is ${what}. Only data can be part of a cached step's key; ` +
      `pass data instead, or turn caching off for this step (cache: false).`,
  )
}
