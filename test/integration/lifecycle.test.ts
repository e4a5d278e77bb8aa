// The pool's lifecycle seen from outside: a process that never calls close() still exits, and
// close() leaves no thread behind.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const child = (...args: string[]) =>
  run(process.execPath, [new URL('../fixtures/lifecycle-child.mjs', import.meta.url).pathname, ...args], {
    timeout: 30_000, // a hang fails the test instead of blocking the suite
  })

describe('lifecycle', () => {
  it('a program that never calls close() exits when its work is done', async () => {
    const { stdout } = await child('no-close')
    expect(JSON.parse(stdout)).toEqual([3, 12])
  })

  // 90 workers replaced (process.exit() in calls): each must release its ports and handles.
  it.each(['thread', 'process'])('process.exit() in 90 calls on %s: the file descriptors in use do not grow with the replaced workers', async (backend) => {
    const { stdout } = await child('fd-leak', backend)
    const { before, during, after, failed } = JSON.parse(stdout) as Record<string, number>
    expect(failed, 'every call exited its worker once').toBe(90)
    expect(during, `fds before ${before}, after 90 replaced workers ${during}`).toBeLessThanOrEqual(before! + 4)
    expect(after, `fds before ${before}, after close ${after}`).toBeLessThanOrEqual(before!)
  })

  it('close() joins every worker thread it started', async () => {
    const { stdout } = await child('close')
    const { before, during, after } = JSON.parse(stdout) as { before: number; during: number; after: number }
    expect(during - before, `threads before ${before}, during ${during}`).toBeGreaterThanOrEqual(3)
    expect(after, `threads before ${before}, after close ${after}`).toBe(before)
  })
})
