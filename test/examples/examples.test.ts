// Every example runs as a user would run it (under tsx), and prints what the README shows.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = new URL('../../', import.meta.url)

async function example(file: string, ...args: string[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
    cwd: root,
    timeout: 60_000,
  })
  return stdout.trimEnd().split('\n')
}

describe('examples', () => {
  it('parallel-execution.ts prints the guide\'s results, then streams in completion order', async () => {
    const lines = await example('parallel-execution.ts')
    expect(lines.slice(0, 4)).toEqual([
      'Chunk sums: [6, 15, 24]',
      'Products: 6, 20',
      'Mixed: sum=6, product=200, factorial=120',
      'Streaming (completion order):',
    ])
    const streamed = lines.slice(4)
    expect(streamed).toHaveLength(3)
    for (const line of streamed) expect(line).toMatch(/^ {2}task \d done after \d+ ms of work \(elapsed \d+\.\d\d s\)$/)
    // Each result arrives no sooner than its own work takes.
    for (const line of streamed) {
      const [, ms, elapsed] = /after (\d+) ms .*elapsed (\d+\.\d+) s/.exec(line)!
      expect(Number(elapsed) * 1000).toBeGreaterThanOrEqual(Number(ms) - 5)
    }
    expect(streamed.map((l) => l.slice(0, 8)).sort()).toEqual(['  task 0', '  task 1', '  task 2'])
  })

  it('broadcast.ts: one line per node and the total', async () => {
    expect(await example('broadcast.ts')).toEqual([
      'Node 0: 250 items, sum=124500',
      'Node 1: 250 items, sum=124750',
      'Node 2: 250 items, sum=125000',
      'Node 3: 250 items, sum=125250',
      'Total: 499500 (expected: 499500)',
    ])
  })

  it('broadcast.ts --backend inline: one node holds everything', async () => {
    expect(await example('broadcast.ts', '--backend', 'inline')).toEqual([
      'Node 0: 1000 items, sum=499500',
      'Total: 499500 (expected: 499500)',
    ])
  })
  it('deadlines.ts: timeout, cancellation, a task\'s own error, pinning', async () => {
    expect(await example('deadlines.ts')).toEqual([
      'Timed out: ERR_SPINDLE_TIMEOUT',
      'Cancelled: user cancelled',
      'RecordError: line 7 is not JSON (code E_RECORD, line 7)',
      'Ran on node 0 of 2 (thread)',
    ])
  })
})
