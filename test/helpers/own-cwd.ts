// Each test file runs in a directory of its own, so what the library writes under the working
// directory by default (run logs and the step cache in `.spindle/`) starts empty and never comes
// from another file, another backend's pass of the same suite, or an earlier `npm test`. Files
// and commands the tests use are named by absolute paths (`new URL(…, import.meta.url)`, `cwd:`).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

const dir = mkdtempSync(join(tmpdir(), 'spindle-test-cwd-'))
const before = process.cwd()
process.chdir(dir)
afterAll(() => {
  process.chdir(before)
  rmSync(dir, { recursive: true, force: true })
})
