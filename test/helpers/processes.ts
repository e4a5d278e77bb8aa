// Processes as tests see them: alive or not, found by a unique marker in their command line.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Pids of the processes whose command line contains `marker` (pgrep -f), this test runner excluded. */
export function processesWith(marker: string): number[] {
  try {
    const out = execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' })
    return out.trim().split('\n').map(Number).filter((pid) => pid !== process.pid)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

/** The nearest ancestor of `pid` whose name starts with `name` (e.g. the sshd session serving it). */
export function ancestorNamed(pid: number, name: string): number | undefined {
  for (let at = pid; at > 1; ) {
    const stat = readFileSync(`/proc/${at}/stat`, 'utf8')
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    if (at !== pid && comm.startsWith(name)) return at
    at = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  }
  return undefined
}

/** Polls `check` (not as an oracle: the condition itself is what is awaited) for up to 20 s. */
export async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  for (const started = Date.now(); !check(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
  }
}
