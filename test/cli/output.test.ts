// What tasks print reaches the terminal whole, line by line, prefixed with the step (or map
// item) that printed it and the node it ran on, on threads and on processes alike.
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { cli, fixture, root, tempDir } from './helpers.js'

const run = promisify(execFile)
let cwd: string | undefined
afterEach(() => {
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true })
})

describe.each(['thread', 'process'])('task output on the %s backend', (backend) => {
  it('is never interleaved mid-line, and each line names its step and node', async () => {
    const dir = (cwd = tempDir())
    const argv = [join(root, 'dist/cli/bin.js'), 'run', fixture('talk.mjs'), '--workers', '2', '--no-progress', '--backend', backend]
    const { stdout, stderr } = await run(process.execPath, argv, { cwd: dir, timeout: 60_000 })
    const printed = stdout.split('\n').filter((line) => line.startsWith('['))
    for (const name of ['a', 'b']) {
      const mine = printed.filter((line) => line.startsWith(`[${name} · `))
      // Whole lines, in the order the step printed them, every one from the same node.
      expect(mine.map((line) => line.replace(/^\[\w+ · \w+ \d\] /, ''))).toEqual(Array.from({ length: 300 }, (_, i) => `${name} line ${i}`))
      expect(new Set(mine.map((line) => /^\[\w+ · (\w+ \d)\]/.exec(line)![1])).size).toBe(1)
      expect(mine[0]).toMatch(new RegExp(`^\\[${name} · ${backend} [01]\\] `))
    }
    // Map items are named by index; a last line without a newline is not lost.
    expect(printed).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^\\[each\\[0\\] · ${backend} [01]\\] x line 0$`))]))
    expect(printed).toHaveLength(602)
    const ends = stderr.split('\n').filter((line) => / done$/.test(line)).sort()
    expect(ends.map((line) => line.replace(/ · \w+ \d\]/, ']'))).toEqual(['[a] a done', '[b] b done', '[each[0]] x done', '[each[1]] y done'])
  })
})

describe('task output of main() called in-process', () => {
  it('goes to the streams main() was given, not to the process', async () => {
    const dir = (cwd = tempDir())
    const { code, stdout, stderr } = await cli(['run', fixture('talk.mjs'), '--workers', '2', '--no-progress'], dir)
    expect(code).toBe(0)
    const printed = stdout.split('\n').filter((line) => line.startsWith('['))
    expect(printed).toHaveLength(602)
    expect(printed).toEqual(expect.arrayContaining([expect.stringMatching(/^\[a · thread [01]\] a line 299$/), expect.stringMatching(/^\[each\[1\] · thread [01]\] y line 0$/)]))
    expect(stderr.split('\n').filter((line) => / done$/.test(line))).toHaveLength(4)
  })
})
