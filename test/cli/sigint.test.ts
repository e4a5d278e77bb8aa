// Ctrl-C on the real `spindle` executable: the run is cancelled, recorded as `cancelled`, and
// nothing it started (the process agent, the shell step's child) outlives it.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fixture, root, tempDir } from './helpers.js'

let cwd: string | undefined
afterEach(() => {
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/** Resolves once `ready()` holds, checking on a short interval (a handshake, not a timing oracle). */
async function until(ready: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe.each(['thread', 'process'])('on the %s backend', (backend) => {
  it('SIGINT during a run cancels it: exit 130, the record says cancelled, no process left behind', async () => {
    const dir = (cwd = tempDir())
    const bin = join(root, 'dist/cli/bin.js')
    // A .ts pipeline file (loaded through tsx); on the process backend, one agent process per node.
    const child = spawn(process.execPath, [bin, 'run', fixture('hold.ts'), '--backend', backend, '--workers', '2'], {
      cwd: dir,
      env: { ...process.env, CLI_TEST_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

    const started = join(dir, 'started')
    const shellPid = join(dir, 'shell.pid')
    await until(() => existsSync(shellPid) && existsSync(started) && readdirSync(started).length > 0, 'both steps to start')
    const agent = Number(readdirSync(started)[0]!.split('-')[0]) // holdUntilFile names its file <pid>-<thread>-...
    const shell = Number(readFileSync(shellPid, 'utf8'))
    if (backend === 'process') expect(agent).not.toBe(child.pid)
    else expect(agent).toBe(child.pid) // a worker thread of the CLI's own process
    expect(alive(agent) && alive(shell)).toBe(true)

    child.kill('SIGINT')
    const code = await exited
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(130)
    expect(stdout).toMatch(/^Run \S+ of "hold" cancelled in/)
    const id = /^Run (\S+) of /.exec(stdout)![1]!
    const record = JSON.parse(readFileSync(join(dir, '.spindle/runs', id, 'run.json'), 'utf8'))
    expect(record.status).toBe('cancelled')
    expect(record.counts).toMatchObject({ cancelled: 2 })
    // The process exited on its own (no worker thread kept it alive); its children are gone too.
    expect(alive(agent)).toBe(false)
    expect(alive(shell)).toBe(false)
  })
})
