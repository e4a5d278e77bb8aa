/** shard(): this node's part of the data. Called inside a task, it reads where the task runs, as instanceInfo() does. */
import { InvalidOptionError, SpindleError } from '../errors.js'
import { currentContext } from './context.js'

export interface ShardOptions {
  /** Node index; defaults to instanceInfo().node inside a task */
  node?: number
  /** Number of nodes; defaults to instanceInfo().totalNodes inside a task */
  totalNodes?: number
  /** Equal contiguous blocks, dropping the remainder so every node gets the same count. @default false */
  dropLast?: boolean
  /** Shuffle with a seeded PRNG first: the same permutation on every node. @default false */
  shuffle?: boolean
  /** Seed for `shuffle`. @default 0 */
  seed?: number
}

export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array
  | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array

/** What `shard` accepts as data: an array or a typed array. */
export type ShardInput = readonly unknown[] | TypedArray
/** A typed array comes back as the same kind; an array comes back as a fresh mutable array. */
export type ShardPart<X> = X extends TypedArray ? X : X extends readonly (infer T)[] ? T[] : never
export type ShardParts<A extends readonly ShardInput[]> = { -readonly [K in keyof A]: ShardPart<A[K]> }

type TwoOrMore = readonly [ShardInput, ShardInput, ...ShardInput[]]

/**
 * This node's part of `data`. Strided by default (node k of N gets k, k+N, k+2N, ...), so parts
 * differ in size by at most one and the union over nodes is every element exactly once.
 * Several arrays shard alike: `shard(xs, ys)` returns `[xsPart, ysPart]` with the same indices.
 */
export function shard<T>(data: readonly T[], options?: ShardOptions): T[]
export function shard<T extends TypedArray>(data: T, options?: ShardOptions): T
export function shard<A extends TwoOrMore>(...arrays: A): ShardParts<A>
export function shard<A extends TwoOrMore>(...arraysThenOptions: [...A, ShardOptions]): ShardParts<A>
export function shard(...args: unknown[]): unknown {
  // A trailing `undefined` reads as "no options", as it would in shard(data, options?).
  if (args.length > 1 && args[args.length - 1] === undefined) args = args.slice(0, -1)
  const last = args[args.length - 1]
  const options = isPlainObject(last) ? (args.pop() as ShardOptions) : {}
  if (args.length === 0) {
    throw new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', 'shard() needs at least one array: shard(data) or shard(xs, ys, options).')
  }
  args.forEach((a, i) => {
    if (!isShardInput(a)) {
      throw new SpindleError(
        'ERR_SPINDLE_INVALID_ARGUMENT',
        `shard() expects arrays or typed arrays, got ${describe(a)} as argument ${i + 1}. ` +
          'Options, if any, go last as a plain object.',
      )
    }
  })
  const arrays = args as ShardInput[]
  const length = arrays[0]!.length
  if (arrays.some((a) => a.length !== length)) {
    throw new SpindleError(
      'ERR_SPINDLE_SHARD_MISMATCH',
      `shard() got arrays of different lengths: ${arrays.map((a) => a.length).join(', ')}. ` +
        'Pass arrays of equal length, one element per item.',
    )
  }

  const { node, totalNodes, dropLast, shuffle, seed } = resolve(options)
  // Indices are computed once and applied to every array, which is what keeps them aligned.
  const order = shuffle ? permutation(length, seed) : undefined
  const indices: number[] = []
  if (dropLast) {
    const block = Math.floor(length / totalNodes)
    for (let i = node * block; i < (node + 1) * block; i++) indices.push(order ? order[i]! : i)
  } else {
    for (let i = node; i < length; i += totalNodes) indices.push(order ? order[i]! : i)
  }
  const parts = arrays.map((a) => take(a, indices))
  return parts.length === 1 ? parts[0] : parts
}

const KNOWN = new Set(['node', 'totalNodes', 'dropLast', 'shuffle', 'seed'])

function resolve(options: ShardOptions): Required<ShardOptions> {
  for (const key of Object.keys(options)) {
    // A typo such as `nodes` would otherwise silently fall back to the task's context.
    if (!KNOWN.has(key)) {
      throw new InvalidOptionError(`Unknown option \`${key}\` for shard(). Known options: ${[...KNOWN].join(', ')}.`)
    }
  }
  let { node, totalNodes } = options
  if (node === undefined || totalNodes === undefined) {
    const info = currentContext()
    if (info === undefined) {
      throw new SpindleError(
        'ERR_SPINDLE_NOT_IN_TASK',
        'shard() was called outside a task without `node` and `totalNodes`. Call it inside a task ' +
          '(compute.run, compute.broadcast, parallelMap), or say which part you want: ' +
          'shard(data, { node: 0, totalNodes: 4 }).',
      )
    }
    node ??= info.rank
    totalNodes ??= info.totalNodes
  }
  if (!Number.isSafeInteger(totalNodes) || totalNodes < 1) {
    throw new InvalidOptionError(`Expected \`totalNodes\` to be an integer >= 1, got ${got(totalNodes)}`)
  }
  if (!Number.isSafeInteger(node) || node < 0 || node >= totalNodes) {
    throw new InvalidOptionError(`Expected \`node\` to be an integer from 0 to ${totalNodes - 1}, got ${got(node)}`)
  }
  const { dropLast = false, shuffle = false, seed = 0 } = options
  for (const [name, value] of [['dropLast', dropLast], ['shuffle', shuffle]] as const) {
    if (typeof value !== 'boolean') throw new InvalidOptionError(`Expected \`${name}\` to be a boolean, got ${got(value)}`)
  }
  if (!Number.isSafeInteger(seed)) throw new InvalidOptionError(`Expected \`seed\` to be an integer, got ${got(seed)}`)
  return { node, totalNodes, dropLast, shuffle, seed }
}

/**
 * A permutation of 0..length-1 that depends only on (length, seed): every node computes the same
 * one independently, so no coordination is needed for the parts to stay disjoint.
 */
function permutation(length: number, seed: number): Uint32Array {
  // Fold the high bits in so seeds beyond 2^32 still differ from their low 32 bits.
  const random = mulberry32((seed ^ Math.imul(Math.floor(seed / 2 ** 32), 0x9e3779b9)) >>> 0)
  const order = new Uint32Array(length)
  for (let i = 0; i < length; i++) order[i] = i
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  return order
}

/** A small, fast 32-bit PRNG: deterministic across platforms and Node versions, unlike Math.random. */
function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function take(data: ShardInput, indices: readonly number[]): ShardInput {
  if (Array.isArray(data)) return indices.map((i) => data[i])
  // slice() gives a fresh typed array of the same kind (not a view that aliases the input).
  const typed = data as TypedArray
  const out = typed.slice(0, indices.length) as unknown as Record<number, unknown>
  indices.forEach((from, to) => (out[to] = typed[from]))
  return out as unknown as TypedArray
}

function isShardInput(value: unknown): value is ShardInput {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function got(value: unknown): string {
  return `\`${String(value)}\` (${typeof value})`
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`
  if (typeof value === 'function') return 'a function'
  return `${String(value)} (${typeof value})`
}
