// Shell steps: parameters and step outputs in their command and environment, what cannot be
// there refused when the step is defined, and their lines handed to onEvent as they are printed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ParallelExecutor, Pipeline, type PipelineEvent } from 'spindle'
import { tasks as t } from '../helpers/pools.js'

const inline = () => new ParallelExecutor({ backend: 'inline' })
const node = (code: string) => ['node', '-e', code]

describe('shell values', () => {
  it('a parameter or a step output in env and argv is its value, and a step read there is a dependency', async () => {
    const p = new Pipeline('values')
    const rows = p.param('rows', 20_000)
    const verbose = p.param('verbose', false)
    const name = p.step('name', t.echo('model-a'))
    const say = p.shell('say', [...node('console.log(process.env.ROWS, process.env.VERBOSE, process.env.NAME, process.argv[1])'), name], {
      env: { ROWS: rows, VERBOSE: verbose, NAME: name },
    })
    expect(p.steps.find((s) => s.name === 'say')!.deps).toEqual(['name'])
    const run = await p.run({ executor: inline(), runLog: false, params: { rows: 12 } })
    expect(run.status).toBe('succeeded')
    expect(run.output(say).stdout).toBe('12 false model-a model-a\n')
  })

  it('what cannot become text is refused when the step is defined', () => {
    const p = new Pipeline('bad')
    expect(() => p.shell('call', ['echo'], { env: { X: t.echo('x') as never } })).toThrow(
      expect.objectContaining({ code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining('Shell step "call": env X must be a string, number, boolean, parameter or step output, got echo') }),
    )
    expect(() => p.shell('object', ['echo'], { env: { X: { a: 1 } as never } })).toThrow(/env X must be .* got `\[object Object\]` \(object\)/)
    expect(() => p.shell('argv', ['echo', [1] as never])).toThrow(/word 1 of its command must be/)
    expect(() => p.shell('env', ['echo'], { env: 'X=1' as never })).toThrow(/Expected `env` of shell step "env" to be an object/)
  })

  it('a value that turns out not to be text-like fails the step with a code, naming it', async () => {
    const p = new Pipeline('late')
    const config = p.step('config', t.echo({ rows: 3 }))
    p.shell('use', ['echo'], { env: { CONFIG: config as never } })
    const run = await p.run({ executor: inline(), runLog: false })
    expect(run.steps[1]).toMatchObject({ status: 'failed' })
    expect(run.steps[1]!.error).toMatchObject({
      code: 'ERR_SPINDLE_INVALID_ARGUMENT',
      message: expect.stringContaining('Shell step "use": env CONFIG is step "config", whose value is `[object Object]` (object)'),
    })
  })
})

describe('shell output', () => {
  it('reaches onEvent a line at a time, per stream, as printed, with a last line that has no newline', async () => {
    const p = new Pipeline('talk')
    // A line split over two writes, a multi-byte character split across them, CRLF, no final newline.
    const code = `process.stdout.write('one\\ntw'); setTimeout(() => { process.stdout.write(Buffer.from([0xc3])); process.stdout.write(Buffer.from([0xa9, 0x0a])); process.stderr.write('warn\\r\\n'); process.stdout.write('last') }, 20)`
    const out = p.shell('talk', node(code))
    const events: PipelineEvent[] = []
    const run = await p.run({ executor: inline(), runLog: false, onEvent: (e) => events.push(e) })
    expect(run.output(out).stdout).toBe('one\ntwé\nlast')
    const lines = events.filter((e) => e.type === 'output').map((e) => [e.step, e.stream, e.line])
    expect(lines.filter(([, s]) => s === 'stdout')).toEqual([['talk', 'stdout', 'one'], ['talk', 'stdout', 'twé'], ['talk', 'stdout', 'last']])
    expect(lines.filter(([, s]) => s === 'stderr')).toEqual([['talk', 'stderr', 'warn']])
    // Each line is an event before the step's end.
    const end = events.findIndex((e) => e.type === 'step' && e.status === 'succeeded')
    expect(events.findLastIndex((e) => e.type === 'output')).toBeLessThan(end)
  })

  it('a failed command\'s error carries the last lines of both streams', async () => {
    const p = new Pipeline('fails')
    p.shell('boom', node('console.log("progress 1"); console.log("progress 2"); console.error("disk full"); process.exit(3)'))
    const run = await p.run({ executor: inline(), runLog: false })
    expect(run.steps[0]!.error).toMatchObject({ code: 'ERR_SPINDLE_SHELL_FAILED', exitCode: 3, stdout: 'progress 1\nprogress 2', stderr: 'disk full' })
  })
})

describe('a cache hit', () => {
  it('makes no attempt: 0 attempts, reused from cache, no running event', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'spindle-cache-'))
    try {
      const build = () => {
        const p = new Pipeline('cached')
        p.step('sum', t.add(1, 2), { cache: true })
        return p
      }
      const first = await build().run({ executor: inline(), runLog: false, cacheDir })
      expect(first.steps[0]).toMatchObject({ attempts: 1, reused: undefined })
      const events: PipelineEvent[] = []
      const second = await build().run({ executor: inline(), runLog: false, cacheDir, onEvent: (e) => events.push(e) })
      expect(second.steps[0]).toMatchObject({ status: 'succeeded', attempts: 0, reused: 'cache', startedAt: undefined })
      const steps = events.filter((e) => e.type === 'step').map((e) => [e.status, e.attempt, e.reused])
      expect(steps).toEqual([['succeeded', 0, 'cache']])
    } finally {
      rmSync(cacheDir, { recursive: true, force: true })
    }
  })
})
