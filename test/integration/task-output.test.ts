// What tasks print goes to the streams the pool was given (`Compute.start({ output })`), whole
// lines prefixed with the node that printed them, and nowhere else.
import { describe, expect, it } from 'vitest'
import { Compute, InvalidOptionError } from 'spindle'
import { BACKENDS, tasks as t, usePools } from '../helpers/pools.js'

/** How each backend names its nodes in the prefix. */
const NOUN: Record<string, string> = { thread: 'thread', process: 'process', ssh: 'host', redis: 'worker' }

function captured() {
  const text = { stdout: '', stderr: '' }
  const output = {
    stdout: { write: (s: string) => (text.stdout += s) },
    stderr: { write: (s: string) => (text.stderr += s) },
  }
  return { text, output }
}

// The inline backend runs tasks on this thread: they print to its streams themselves.
describe.each(BACKENDS.filter((b) => b.name !== 'inline'))('task output on $name', ({ name, options }) => {
  const start = usePools()

  it('reaches the output the pool was given, prefixed with the node, before the call resolves', async () => {
    const { text, output } = captured()
    const pool = await start({ ...options, output })
    expect(await pool.run(t.say('hello'), { node: 1 })).toBe('hello')
    expect(text).toEqual({ stdout: `[${NOUN[name]} 1] hello\n`, stderr: '' })
  })
})

describe('the output option', () => {
  it('needs a stream with write() for stdout and for stderr', async () => {
    const missing = Compute.start({ workers: 1, output: { stdout: process.stdout } as never })
    await expect(missing).rejects.toThrow(InvalidOptionError)
    await expect(missing).rejects.toThrow('Expected `output.stderr` to be a stream with a write() method (process.stderr, a Writable), got `undefined`')
    await expect(Compute.start({ workers: 1, output: { stdout: {}, stderr: process.stderr } as never })).rejects.toThrow('Expected `output.stdout` to be a stream')
  })
})
