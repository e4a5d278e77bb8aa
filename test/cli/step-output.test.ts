// A shell step's lines under `spindle run` (streamed, prefixed with the step), their last lines
// in `runs show` and the report; and a cache hit shown as reused, not as an attempt, everywhere.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cli, fixture, tempDir } from './helpers.js'

let cwd: string
beforeEach(() => void (cwd = tempDir()))
afterEach(() => rmSync(cwd, { recursive: true, force: true }))

const idOf = (stdout: string) => /^Run (\S+) of /m.exec(stdout)![1]!
const reportRows = (file: string) => JSON.parse(/<script type="application\/json" id="spindle-data">(.*?)<\/script>/s.exec(readFileSync(file, 'utf8'))![1]!).rows

describe('shell step output', () => {
  it('is streamed under `spindle run`, a whole line at a time, prefixed with the step: stdout to stdout, stderr to stderr', async () => {
    const { code, stdout, stderr } = await cli(['run', fixture('shell.mjs'), '--no-progress'], cwd)
    expect(code).toBe(1)
    const talk = stdout.split('\n').filter((line) => line.startsWith('[talk · shell] '))
    expect(talk).toEqual(Array.from({ length: 12 }, (_, i) => `[talk · shell] hello ${i + 1}`))
    expect(stdout).toContain('[boom · shell] working\n')
    expect(stderr).toContain('[talk · shell] careful\n')
    expect(stderr).toContain('[boom · shell] disk full\n')
    // The lines come before the summary: they were written as printed, not after the run.
    expect(stdout.indexOf('[talk · shell] hello 12')).toBeLessThan(stdout.indexOf('Run '))
  })

  it('with --json, the lines are events like the others, and stdout holds only JSON', async () => {
    const { stdout } = await cli(['run', fixture('shell.mjs'), '--json'], cwd)
    const events = stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
    const lines = events.filter((e) => e.type === 'output' && e.step === 'talk')
    expect(lines.map((e) => [e.stream, e.line])).toEqual([...Array.from({ length: 12 }, (_, i) => ['stdout', `hello ${i + 1}`]), ['stderr', 'careful']])
  })

  it('runs show prints the last lines of each shell step, from its output or its error', async () => {
    const ran = await cli(['run', fixture('shell.mjs'), '--no-progress'], cwd)
    const { stdout } = await cli(['runs', 'show', idOf(ran.stdout)], cwd)
    const last10 = Array.from({ length: 10 }, (_, i) => `  hello ${i + 3}`).join('\n')
    expect(stdout).toContain(`Last lines of talk (stdout):\n${last10}\nLast lines of talk (stderr):\n  careful\n`)
    expect(stdout).toContain('Last lines of boom (stdout):\n  working\nLast lines of boom (stderr):\n  disk full\n')
  })

  it('the report shows the last lines of each stream', async () => {
    await cli(['run', fixture('shell.mjs'), '--no-progress', '--report', 'report.html'], cwd)
    const html = readFileSync(join(cwd, 'report.html'), 'utf8')
    const section = /<section id="output">([\s\S]*?)<\/section>/.exec(html)?.[1]
    expect(section).toBeDefined()
    expect(section).toContain('<b>talk</b> stdout, last 12 line(s)')
    expect(section).toContain(`<pre>${Array.from({ length: 12 }, (_, i) => `hello ${i + 1}`).join('\n')}</pre>`)
    expect(section).toContain('<b>boom</b> stderr, last 1 line(s)</summary><pre>disk full</pre>')
  })
})

describe('a cache hit', () => {
  it('is "0 attempts (reused from cache)" in the summary, the progress lines, runs show and the report', async () => {
    const first = await cli(['run', fixture('cached.mjs')], cwd)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^ {2}sum +succeeded {2}1 attempt {2}\d+\.\d s$/m)
    const second = await cli(['run', fixture('cached.mjs'), '--report', 'report.html'], cwd)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/^ {2}sum +succeeded {2}0 attempts {2}- +\(reused from cache\)$/m)
    expect(second.stdout).toMatch(/^ {2}twice +succeeded {2}1 attempt +\d+\.\d s$/m)
    expect(second.stderr).toMatch(/^\[\d+\.\d s\] sum succeeded \(reused from cache\)$/m)
    expect(second.stderr).toMatch(/^run succeeded in \d+\.\d s: 2 steps succeeded \(1 reused from cache\), 0 failed, 0 skipped$/m)
    const shown = await cli(['runs', 'show', idOf(second.stdout)], cwd)
    expect(shown.stdout).toMatch(/^ {2}sum +succeeded {2}0 attempts {2}- +\(reused from cache\)$/m)
    const sum = reportRows(join(cwd, 'report.html')).find((r: { name: string }) => r.name === 'sum')
    expect(sum).toMatchObject({ attempts: 0, reused: 'cache', start: null, duration: null })
  })
})
