/**
 * Crash-safe file replacement, shared by the run log and the step cache.
 *
 * A reader must see either the previous file or the complete new one, never a prefix, even when
 * the writing process is killed with SIGKILL or the machine loses power. So the data goes to a
 * temporary file in the same directory (rename is only atomic within one file system), is
 * fsynced (otherwise the rename can reach the disk before the data, leaving an empty file after a
 * power cut), is renamed over the target, and then the directory is fsynced so the rename itself
 * survives a power cut, where the platform allows fsync on a directory.
 *
 * Synchronous on purpose: it is used for files written rarely (a run's start and end, a cache
 * entry, the CLI's invocation), where a sync write means the file is on disk before the caller
 * moves on, with no interleaving to reason about. The cost is one fsync (~1 ms on an SSD) blocking
 * the event loop per write. Step records, which can end thousands per second, go through the
 * run's journal instead (journal.ts), one fsync per batch.
 *
 * Temporary files are named `.<target>.<random>.tmp`: hidden, and never ending in a suffix readers
 * look for (`.json`, `.out`, `.v8`), so a leftover from a killed writer is simply ignored.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/** The suffix of every temporary file: readers skip names ending in it. */
export const TEMP_SUFFIX = '.tmp'

export function isTempFile(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX)
}

/** A temporary name beside `path`. Random, not pid + counter: worker threads of one process share a pid. */
export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`)
}

/**
 * Replaces (or creates) `path` with `data`, all or nothing. The directory must exist. Several
 * chunks are written one after another (a header and a large body need no joined copy).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const dir = dirname(path)
  const temp = tempPath(path)
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data
  // 'wx': never follow or reuse an existing file at the temporary name.
  const fd = openSync(temp, 'wx', 0o644)
  try {
    for (const bytes of chunks) {
      for (let written = 0; written < bytes.byteLength; ) {
        written += writeSync(fd, bytes, written, bytes.byteLength - written)
      }
    }
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    removeQuietly(temp)
    throw error
  }
  closeSync(fd)
  try {
    renameRetrying(temp, path)
  } catch (error) {
    removeQuietly(temp)
    throw error
  }
  fsyncDirectory(dir)
}

/** Makes a rename or creation in `dir` durable. A no-op where directories cannot be fsynced. */
export function fsyncDirectory(dir: string): void {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch {
    return // Windows cannot open a directory as a file; NTFS journals the rename itself.
  }
  try {
    fsyncSync(fd)
  } catch {
    // EINVAL/EPERM on file systems that do not support it: nothing more can be done.
  } finally {
    closeSync(fd)
  }
}

/**
 * On Windows, a rename over a file another process has open fails with EPERM/EACCES/EBUSY for a
 * moment (antivirus, indexers, a concurrent reader). Retry a few times; elsewhere rename is final.
 */
function renameRetrying(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(from, to)
      return
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      const transient = code === 'EPERM' || code === 'EACCES' || code === 'EBUSY'
      if (process.platform !== 'win32' || !transient || attempt >= 5) throw error
      sleepSync(10 * 2 ** attempt)
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone, or the directory went away: nothing left to clean
  }
}
