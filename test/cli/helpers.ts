// main() with captured streams, run in a fresh temporary directory (its own run log and cache).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { main } from '../../dist/cli/main.js'

export const fixtures = fileURLToPath(new URL('../fixtures/cli/', import.meta.url))
export const root = fileURLToPath(new URL('../../', import.meta.url))

export interface Ran {
  code: number
  stdout: string
  stderr: string
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'spindle-cli-'))
}

/** Runs `spindle <argv>` in-process, in `cwd`, with its output captured (not a terminal). */
export async function cli(argv: string[], cwd: string, signal?: AbortSignal): Promise<Ran> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    cwd,
    ...(signal !== undefined && { signal }),
  })
  return { code, stdout, stderr }
}

export const fixture = (name: string) => join(fixtures, name)

/**
 * A project's own pipeline file, inside `cwd`, that re-exports fixture `name`: `resume` takes a
 * recorded file from the run log only inside the run's working directory.
 */
export function projectFile(cwd: string, name: string): string {
  const file = join(cwd, name)
  writeFileSync(file, `export { default } from ${JSON.stringify(pathToFileURL(fixture(name)).href)}\n`)
  return file
}
