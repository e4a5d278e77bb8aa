// The real executable on the repository's own example: what `npm start` runs. A .ts pipeline
// whose .ts task module must load on worker threads (tsx registered by the CLI, not by a flag).
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, expect, it } from 'vitest'
import { root, tempDir } from './helpers.js'

const run = promisify(execFile)
let cwd: string | undefined
afterEach(() => {
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true })
})

it('spindle run examples/pipeline.ts: every step succeeds, plain progress lines on stderr', async () => {
  const dir = (cwd = tempDir())
  const { stdout, stderr } = await run(process.execPath, [join(root, 'dist/cli/bin.js'), 'run', join(root, 'examples/pipeline.ts'), '--workers', '2'], {
    cwd: dir,
    timeout: 60_000,
  })
  const lines = stdout.trimEnd().split('\n')
  expect(lines[0]).toBe('[notify · shell] model trained') // the shell step's line, streamed as it printed it
  expect(lines[1]).toMatch(/^Run \S+ of "fit" succeeded in \d+\.\d s$/)
  expect(lines[2]).toMatch(/^ {2}pool start {2}\d+\.\d s \(2 nodes\)$/) // the workers' start-up, which the first step waited for
  expect(lines.slice(3).map((l) => l.trim().split(/ +/).slice(0, 2).join(' '))).toEqual([
    'load succeeded',
    'featA succeeded',
    'featB succeeded',
    'train succeeded',
    'notify succeeded',
  ])
  expect(stderr.trimEnd().split('\n').at(-1)).toMatch(/^run succeeded in \d+\.\d s: 5 steps succeeded, 0 failed, 0 skipped$/)
  // The README's sample output is what this first run printed, its id and times aside.
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const sample = /The first run prints:\n\n```text\n([\s\S]*?)```/.exec(readme)
  expect(sample, 'README has no first-run sample after "The first run prints:"').not.toBeNull()
  const shape = (text: string) => text.replace(/^Run \S+ of/m, 'Run <id> of').replace(/\d+\.\d s/g, '<time>')
  expect(shape(sample![1]!)).toBe(shape(stdout))
})

it('spindle graph examples/pipeline.ts prints its Mermaid graph without running it', async () => {
  const dir = (cwd = tempDir())
  const { stdout } = await run(process.execPath, [join(root, 'dist/cli/bin.js'), 'graph', join(root, 'examples/pipeline.ts')], { cwd: dir, timeout: 60_000 })
  expect(existsSync(join(dir, '.spindle'))).toBe(false) // loaded, not run: no run log
  expect(stdout).toBe(
    ['flowchart TD', '  s0["load"]', '  s1["featA"]', '  s2["featB"]', '  s3["train"]', '  s4[/"notify (shell)"/]', '  s0 --> s1', '  s0 --> s2', '  s1 --> s3', '  s2 --> s3', '  s3 --> s4', ''].join('\n'),
  )
})

it('a reader that goes away (spindle run --json | head -1) ends the output, not the run: no EPIPE crash', async () => {
  const dir = (cwd = tempDir())
  const child = spawn(process.execPath, [join(root, 'dist/cli/bin.js'), 'run', join(root, 'examples/pipeline.ts'), '--json', '--workers', '2'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  child.stdout.once('data', () => child.stdout.destroy()) // like head -1: read one event, close the pipe
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  expect(stderr).not.toMatch(/EPIPE|Unhandled/)
  expect(code, 'the run went on and succeeded').toBe(0)
})
