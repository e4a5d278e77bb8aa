// main() with captured streams, run in a fresh temporary directory (its own run log and cache).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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
