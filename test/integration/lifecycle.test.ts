// The pool's lifecycle seen from outside: a process that never calls close() still exits, and
// close() leaves no thread behind.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const child = (mode: string) =>
  run(process.execPath, [new URL('../fixtures/lifecycle-child.mjs', import.meta.url).pathname, mode], {
    timeout: 30_000, // a hang fails the test instead of blocking the suite
  })

describe('lifecycle', () => {
  it('a program that never calls close() exits when its work is done', async () => {
    const { stdout } = await child('no-close')
    expect(JSON.parse(stdout)).toEqual([3, 12])
  })

  it('close() joins every worker thread it started', async () => {
    const { stdout } = await child('close')
    const { before, during, after } = JSON.parse(stdout) as { before: number; during: number; after: number }
    expect(during - before, `threads before ${before}, during ${during}`).toBeGreaterThanOrEqual(3)
    expect(after, `threads before ${before}, after close ${after}`).toBe(before)
  })
})
