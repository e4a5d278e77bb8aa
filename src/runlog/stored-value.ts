/**
 * A stored value: its `v8.serialize`d bytes (the body) behind a 36-byte header, the magic `SPC2`
 * and the SHA-256 of the body. The step cache's entries and a run's large outputs are files of
 * this one format, so a run records a cached output (or one it resumed) as a hard link to the file
 * that already holds it: one copy on disk however many runs and cache entries name it, each name
 * removable on its own (pruning a run, clearing the cache). Every reader checks the header's hash
 * against the body, so a file changed on disk is detected, whichever name it is read through.
 *
 * A hard link needs both names on one file system, and one that supports them: where `link`
 * fails, the body is written again (a copy, as before).
 */
import { createHash } from 'node:crypto'
import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { serialize } from 'node:v8'
import { tempPath } from './atomic-file.js'

const MAGIC = Buffer.from('SPC2')
/** The magic, then the body's SHA-256 (32 bytes). */
export const HEADER_BYTES = MAGIC.length + 32

export interface StoredValue {
  /** SHA-256 of `body`, hex. */
  readonly hash: string
  /** The value's `v8.serialize`d bytes. */
  readonly body: Buffer
  /** A file in the stored-value format that holds exactly this body: it may be linked, not written again. */
  readonly file?: string | undefined
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** `undefined`, the output of every step that returns nothing: its bytes and hash never change. */
const UNDEFINED: StoredValue = ((body) => ({ hash: sha256(body), body }))(serialize(undefined))

/** Serializes `value` once, with its hash. Throws `v8.serialize`'s error for what cannot be serialized. */
export function serializeValue(value: unknown): StoredValue {
  if (value === undefined) return UNDEFINED
  const body = serialize(value)
  return { hash: sha256(body), body }
}

export function headerOf(hash: string): Buffer {
  return Buffer.concat([MAGIC, Buffer.from(hash, 'hex')])
}

/** The body and hash of a stored-value file's bytes, or undefined when its header does not match its body. */
export function checkStored(bytes: Buffer): { hash: string; body: Buffer } | undefined {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined
  const body = bytes.subarray(HEADER_BYTES)
  const hash = sha256(body)
  return hash === bytes.subarray(MAGIC.length, HEADER_BYTES).toString('hex') ? { hash, body } : undefined
}

/**
 * Makes `dest` a stored-value file of `value`: a hard link to `value.file` when it still holds
 * this body (the header read back through the new name says so: the file may have been replaced
 * since), else a new file written and fdatasynced under a temporary name, then renamed. The
 * caller fsyncs the directory. An existing `dest` is left as it is: names are content hashes.
 */
export async function placeStored(dest: string, value: StoredValue): Promise<void> {
  if (value.file !== undefined && (await linked(value.file, dest, value.hash))) return
  const temp = tempPath(dest)
  const handle = await open(temp, 'wx', 0o644)
  try {
    await writeAll(handle, [headerOf(value.hash), value.body])
    await handle.datasync()
  } catch (error) {
    await handle.close()
    await unlink(temp).catch(() => undefined)
    throw error
  }
  await handle.close()
  await rename(temp, dest)
}

/** Every byte of `chunks`, in order (a write may take fewer bytes than it was given). */
async function writeAll(handle: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    for (let written = 0; written < chunk.length; ) written += (await handle.write(chunk, written, chunk.length - written)).bytesWritten
  }
}

/** Whether `dest` now holds `hash` through a link to `source` (or already existed). */
async function linked(source: string, dest: string, hash: string): Promise<boolean> {
  try {
    await link(source, dest)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return true
    return false // another file system, no hard links there, the source gone: write a copy
  }
  const handle = await open(dest, 'r')
  const header = Buffer.alloc(HEADER_BYTES)
  try {
    await handle.read(header, 0, HEADER_BYTES, 0)
  } finally {
    await handle.close()
  }
  if (header.equals(headerOf(hash))) return true
  await unlink(dest) // the source was replaced by another value since it was read: not ours
  return false
}
