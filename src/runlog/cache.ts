/**
 * The step cache: content-addressed outputs under `.spindle/cache/`.
 *
 * A key is a SHA-256 over everything that decides a step's output: the task's identity (module
 * URL, export name, a hash of the module file's content), its argument values (stable-hash.ts)
 * and its upstream steps' keys in order. So a changed input, parameter or module is a miss, and a
 * change upstream travels down through the upstream keys. Only the task's own module file is
 * hashed: a change in a module it imports is not seen (the same trade-off as make and most
 * pipeline tools; bump the step or clear the cache when a helper changes behaviour).
 *
 * Values are stored with `v8.serialize` (Maps, typed arrays, Dates, bigints, cycles survive) as
 * `<dir>/<key[0..2]>/<key>.v8`, written atomically (atomic-file.ts), so concurrent runs and a
 * killed run never leave a half value: a reader sees a whole value or a miss. Two runs storing
 * the same key store the same value, so the last rename winning is fine. Each entry carries the
 * SHA-256 of its value's bytes (stored-value.ts): an entry changed on disk (or anything else in
 * its place, such as a directory) is a miss with a warning, never a wrong value or a raw
 * file-system error. `get` and `put` return the stored value's bytes and file, so the run log
 * records the same output as a hard link to the entry instead of serializing and writing it again.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deserialize } from 'node:v8'
import { SpindleError } from '../errors.js'
import { writeFileAtomic } from './atomic-file.js'
import { hashStable } from './stable-hash.js'
import { checkStored, headerOf, serializeValue, sha256, type StoredValue } from './stored-value.js'

/** Changing it invalidates every key (bump it when the encoding of keys changes). */
const KEY_VERSION = 'spindle-step-cache/2'
const KEY = /^[0-9a-f]{64}$/

export interface CacheKeyParts {
  /** The task module's URL, as the step refers to it. */
  readonly module: string
  readonly exportName: string
  /** The module file's content, or `await moduleHash(module)`: any change to it changes the key. */
  readonly moduleSource: string | Buffer
  /** The step's argument values, with upstream outputs in place of the Pendings that produced them. */
  readonly args: readonly unknown[]
  /** The cache keys of the steps this one depends on, in argument order. */
  readonly upstream: readonly string[]
}

/** A hit has the value, and the entry it came from (its bytes and file). */
export type CacheLookup = { readonly hit: true; readonly value: unknown; readonly stored: StoredValue } | { readonly hit: false }

/** The step's cache key (64 hex digits). Throws `ERR_SPINDLE_NOT_CACHEABLE` for a function argument. */
export function cacheKey(parts: CacheKeyParts): string {
  if (!Array.isArray(parts.args) || !Array.isArray(parts.upstream) || parts.upstream.some((k) => typeof k !== 'string')) {
    throw new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', 'cacheKey() takes `args` as an array and `upstream` as an array of cache keys.')
  }
  const hash = createHash('sha256')
  // JSON arrays delimit the strings; hashStable's encoding is self-delimiting.
  hash.update(`${KEY_VERSION}\n${JSON.stringify([parts.module, parts.exportName, sha256(parts.moduleSource)])}\n`)
  hashStable(hash, parts.args, 'args')
  hash.update(`\n${JSON.stringify(parts.upstream)}`)
  return hash.digest('hex')
}

interface HashedModule {
  /** inode, size, mtime and ctime in ns: ctime changes on every write and cannot be set back. */
  readonly stamp: string
  readonly hash: Promise<string>
}
const moduleHashes = new Map<string, HashedModule>()

/**
 * SHA-256 of the file behind a `file:` URL, read once per process while its size and times stay
 * the same. A `data:` URL is its own content. Other schemes cannot be hashed and are rejected.
 */
export async function moduleHash(url: string | URL): Promise<string> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (error) {
    throw new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', `Cannot hash task module "${String(url)}": it is not a URL.`, { cause: error })
  }
  if (parsed.protocol === 'data:') return sha256(parsed.href)
  if (parsed.protocol !== 'file:') {
    throw new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', `Cannot hash task module ${parsed.href}: only file: and data: modules can be cached.`)
  }
  const path = fileURLToPath(parsed)
  let stamp: string
  try {
    const s = await stat(path, { bigint: true })
    stamp = `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
  } catch (error) {
    throw new SpindleError('ERR_SPINDLE_MODULE_NOT_FOUND', `Cannot hash task module ${parsed.href}: ${(error as Error).message}`, { cause: error })
  }
  const known = moduleHashes.get(path)
  if (known?.stamp === stamp) return known.hash
  // A change between stat and read stores the new content under the old stamp; the next call
  // sees a new stamp and reads again, so the worst case is one extra read.
  const entry: HashedModule = { stamp, hash: readFile(path).then(sha256) }
  moduleHashes.set(path, entry)
  entry.hash.catch(() => {
    if (moduleHashes.get(path) === entry) moduleHashes.delete(path)
  })
  return entry.hash
}

export class StepCache {
  /** The absolute cache directory. */
  readonly dir: string

  private constructor(dir: string) {
    this.dir = dir
  }

  /** A cache over `dir` (default `.spindle/cache` under the current directory); created on the first `put()`. */
  static open(dir?: string): StepCache {
    return new StepCache(resolve(dir ?? join(process.cwd(), '.spindle', 'cache')))
  }

  /**
   * The value stored under `key`, deserialized afresh. An entry that cannot be read back (written
   * by a Node whose serializer is newer than ours) is a miss: the step runs and stores it again.
   */
  get(key: string): CacheLookup {
    const path = this.#path(key)
    let bytes: Buffer
    try {
      bytes = readFileSync(path)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return { hit: false }
      return miss(path, `cannot be read (${code ?? String(error)})`)
    }
    const checked = checkStored(bytes)
    if (checked === undefined) return miss(path, 'has changed since it was stored (its content hash differs)')
    try {
      return { hit: true, value: deserialize(checked.body), stored: { ...checked, file: path } }
    } catch {
      return { hit: false } // written by a Node whose serializer is newer than ours
    }
  }

  /**
   * Stores `value` under `key`, replacing any previous value atomically (a warning if the file
   * system refuses). Returns the value's bytes, with the entry's file when it was stored.
   */
  put(key: string, value: unknown): StoredValue {
    const path = this.#path(key)
    let stored: StoredValue
    try {
      stored = serializeValue(value)
    } catch (error) {
      throw new SpindleError(
        'ERR_SPINDLE_NOT_CACHEABLE',
        `Cannot store this output in the step cache: ${(error as Error).message}. Return data (no functions or ` +
          `class instances with native state), or turn caching off for the step.`,
        { cause: error },
      )
    }
    try {
      mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true })
      writeFileAtomic(path, [headerOf(stored.hash), stored.body])
    } catch (error) {
      // The step has its output: a cache that cannot take it (a directory in the entry's place, a
      // full disk) costs a later run, not this one.
      process.emitWarning(`Could not store step cache entry ${path}: ${(error as Error).message}.`, { code: 'SPINDLE_CACHE_CORRUPT' })
      return stored
    }
    return { ...stored, file: path }
  }

  #path(key: string): string {
    if (!KEY.test(key)) {
      throw new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', `Expected a cache key (64 hex digits, from cacheKey()), got ${JSON.stringify(key)}.`)
    }
    return join(this.dir, key.slice(0, 2), `${key}.v8`)
  }
}

/** A cache entry that cannot be trusted: the step runs again, and a warning says why. */
function miss(path: string, why: string): CacheLookup {
  process.emitWarning(`Step cache entry ${path} ${why}: treated as a miss, the step runs again.`, { code: 'SPINDLE_CACHE_CORRUPT' })
  return { hit: false }
}
