/**
 * Where the ControlMaster sockets of a pool live: a private directory, removed when the pool
 * closes or, failing that, when the program exits.
 *
 * A Unix socket's path has a limit of 104 bytes on macOS (108 on Linux), and ssh binds the
 * master's socket at the ControlPath plus a 17-character temporary suffix before renaming it.
 * macOS's $TMPDIR alone is ~49 characters, so the directory is made under os.tmpdir() only when
 * the longest socket path fits, and under /tmp otherwise; the socket itself is named by the
 * node's index (the directory is the pool's own, so nothing else shares it).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SshError } from '../../errors.js'

/** The smaller of the platforms' limits, less the terminating NUL. */
const SOCKET_PATH_MAX = 103
/** What ssh appends to the ControlPath while it sets the master up (`.` and 16 random characters). */
const SSH_TEMP_SUFFIX = 17
const PREFIX = 'spindle-ssh-'

/** ControlMaster directories of pools not closed yet: removed when the program exits without closing them. */
const open = new Set<string>()
let exitHooked = false

/** A fresh private directory whose socket paths (`controlPath(dir, node)`) fit for `nodes` nodes. */
export function openControlDir(nodes: number): string {
  const longest = `/${nodes - 1}`.length + SSH_TEMP_SUFFIX
  const bases = [...new Set([tmpdir(), '/tmp'])]
  const fits = bases.filter((base) => join(base, `${PREFIX}XXXXXX`).length + longest <= SOCKET_PATH_MAX)
  let lastError: unknown
  for (const base of fits) {
    try {
      const dir = mkdtempSync(join(base, PREFIX))
      if (!exitHooked) {
        exitHooked = true
        process.once('exit', () => open.forEach(closeControlDir)) // one listener, however many pools
      }
      open.add(dir)
      return dir
    } catch (error) {
      lastError = error
    }
  }
  throw new SshError(
    'ERR_SPINDLE_SSH_BOOTSTRAP',
    `Cannot make a directory for ssh's ControlMaster sockets: ${fits.length === 0 ? `${tmpdir()} is too long for a socket path (${SOCKET_PATH_MAX} bytes at most)` : String(lastError)}. ` +
      'Set TMPDIR to a short, writable directory (such as /tmp).',
    bases.join(', '),
    { cause: lastError },
  )
}

/** The ControlPath of node `index` in `dir`. */
export function controlPath(dir: string, index: number): string {
  return `${dir}/${index}`
}

export function closeControlDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  open.delete(dir)
}
