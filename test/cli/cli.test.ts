// The CLI called in-process through main(argv, io): commands, exit codes, and every bad input.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { USAGE } from '../../dist/cli/main.js'
import { cli, fixture, projectFile, tempDir } from './helpers.js'
import { runSshTests } from '../helpers/sshd.js'

let cwd: string
beforeEach(() => {
  cwd = tempDir()
})
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true })
})

const idOf = (stdout: string) => /^Run (\S+) of /m.exec(stdout)![1]!

describe('spindle run', () => {
  it('runs the default-exported pipeline, prints a summary with the run id, exits 0', async () => {
    const { code, stdout, stderr } = await cli(['run', fixture('ok.mjs'), '--workers', '2'], cwd)
    expect(code, stderr).toBe(0)
    expect(stdout).toMatch(/^Run \S+ of "ok" succeeded in \d+\.\d s\n/)
    expect(stdout).toMatch(/^ {2}a {5}succeeded {2}1 attempt {2}\d+\.\d s$/m)
    expect(stdout).toMatch(/^ {2}done {2}succeeded {2}1 attempt {2}\d+\.\d s$/m)
    // Not a terminal: plain progress lines on stderr, one per finished step, and the end.
    expect(stderr).toMatch(/^\[\d+\.\d s\] b succeeded$/m)
    expect(stderr).toMatch(/^run succeeded in \d+\.\d s: 3 steps succeeded, 0 failed, 0 skipped$/m)
    const id = idOf(stdout)
    const record = JSON.parse(readFileSync(join(cwd, '.spindle/runs', id, 'run.json'), 'utf8'))
    expect(record).toMatchObject({ id, pipeline: 'ok', status: 'succeeded' })
  })

  it('exits 1 when a step fails, naming the error and the skipped step', async () => {
    const { code, stdout, stderr } = await cli(['run', fixture('failing.mjs'), '--no-progress'], cwd)
    expect(code).toBe(1)
    expect(stderr).toBe('') // --no-progress: no display at all
    expect(stdout).toMatch(/^Run \S+ of "failing" failed in/)
    expect(stdout).toMatch(/^ {2}boom +failed +1 attempt +\d+\.\d s +TypeError: kaput$/m)
    expect(stdout).toMatch(/^ {2}later +skipped +0 attempts +- +\(blocked by boom\)$/m)
  })

  it('--json writes one JSON object per event on stdout and nothing else', async () => {
    const { code, stdout, stderr } = await cli(['run', fixture('failing.mjs'), '--json', '--backend', 'inline'], cwd)
    expect(code).toBe(1)
    expect(stderr).toBe('')
    const events = stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
    expect(events[0]).toMatchObject({ type: 'run', status: 'running', steps: ['fine', 'boom', 'later'] })
    expect(events.at(-1)).toMatchObject({ type: 'run', status: 'failed', run: events[0].run })
    const failed = events.find((e) => e.step === 'boom' && e.status === 'failed')
    expect(failed.error).toEqual({ name: 'TypeError', message: 'kaput', code: 'E_TASK' })
    expect(events.filter((e) => e.type === 'step' && e.status === 'succeeded').map((e) => e.step)).toEqual(['fine'])
  })

  it('--json reports a map step\'s items as they finish, and nested branch steps by full name', async () => {
    const { code, stdout, stderr } = await cli(['run', fixture('nested.mjs'), '--json', '--workers', '2'], cwd)
    expect(code, stderr).toBe(0)
    const events = stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
    const items = events.filter((e) => e.type === 'items').map(({ step, done, total }) => ({ step, done, total }))
    expect(items).toEqual([0, 1, 2].map((done) => ({ step: 'each', done, total: 2 })))
    const finished = events.filter((e) => e.type === 'step' && e.status === 'succeeded').map((e) => e.step)
    expect(finished).toEqual(expect.arrayContaining(['variants/small/fit', 'variants/large/deep/inner/x', 'variants/large/fit "big"', 'variants', 'each', 'notify']))
  })

  it('--trace and --report write the run recorder\'s files, for a failed run too', async () => {
    const { code, stdout } = await cli(['run', fixture('failing.mjs'), '--no-progress', '--trace', 'out/trace.json', '--report', 'out/report.html'], cwd)
    expect(code).toBe(1)
    expect(stdout).toContain(`Trace: ${join(cwd, 'out/trace.json')}\nReport: ${join(cwd, 'out/report.html')}\n`)
    const trace = JSON.parse(readFileSync(join(cwd, 'out/trace.json'), 'utf8'))
    const names = new Set(trace.traceEvents.map((e: { name: string }) => e.name))
    for (const step of ['fine', 'boom']) expect(names).toContain(step)
    const html = readFileSync(join(cwd, 'out/report.html'), 'utf8')
    expect(html).toMatch(/^<!doctype html>/i)
    expect(html).toContain('kaput')
  })

  it('loads a default export that is an async function returning the pipeline', async () => {
    process.env.CLI_TEST_DIR = cwd
    const { code, stdout } = await cli(['run', fixture('factory.mjs'), '--no-progress'], cwd)
    expect(code).toBe(1) // `second` fails on its first run
    expect(stdout).toMatch(/^ {2}first +succeeded/m)
  })

  it('--backend process runs the steps on child processes', async () => {
    const { code, stderr } = await cli(['run', fixture('ok.mjs'), '--backend', 'process', '--workers', '1', '--no-progress'], cwd)
    expect(code, stderr).toBe(0)
  })

  it.runIf(runSshTests)('--backend ssh goes to Compute.start() with the hosts: an unreachable one fails the run before any step, naming it', async () => {
    const { code, stderr } = await cli(['run', fixture('ok.mjs'), '--backend', 'ssh', '--hosts', '127.0.0.1:1'], cwd)
    expect(code).toBe(1)
    expect(stderr).toContain('127.0.0.1')
    expect(stderr).toContain('[ERR_SPINDLE_SSH_UNREACHABLE]')
    expect(existsSync(join(cwd, '.spindle/runs'))).toBe(false)
  })
})

describe('bad input', () => {
  it('a file that does not exist: exit 2, the path in the message', async () => {
    const { code, stderr, stdout } = await cli(['run', 'missing.ts'], cwd)
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toContain(`Pipeline file ${join(cwd, 'missing.ts')} does not exist.`)
    expect(stderr).toContain('[ERR_SPINDLE_MODULE_NOT_FOUND]')
  })

  it('a module that exports no pipeline: exit 2, pointing at the Pipeline it exports by name', async () => {
    const { code, stderr } = await cli(['graph', fixture('no-export.mjs')], cwd)
    expect(code).toBe(2)
    expect(stderr).toContain('exports no pipeline: it has no default export. It exports a Pipeline as "pipeline": add `export default pipeline`.')
    expect(stderr).toContain('[ERR_SPINDLE_NO_PIPELINE]')
  })

  it('a module that throws on import: exit 1, with what it threw and where', async () => {
    const { code, stderr } = await cli(['run', fixture('throws.mjs')], cwd)
    expect(code).toBe(1)
    expect(stderr).toContain('threw while it was imported: bad config: no DATA_DIR [ERR_SPINDLE_PIPELINE_IMPORT]')
    expect(stderr).toContain('throws.mjs:2') // the stack of what it threw
  })

  it('an unknown flag: exit 2, one line with a did-you-mean, and where the usage is (not the whole help)', async () => {
    const { code, stderr } = await cli(['run', fixture('ok.mjs'), '--worker', '2'], cwd)
    expect(code).toBe(2)
    expect(stderr).toBe('spindle: Unknown flag "--worker". Did you mean "--workers"?\nRun `spindle --help` for usage.\n')
  })

  it('spindle worker without --redis or --pool, or with a bad --idle-exit or --workers-per-node: exit 2 before it connects', async () => {
    expect(await cli(['worker', '--pool', 'p'], cwd)).toMatchObject({ code: 2, stderr: expect.stringContaining('`spindle worker` needs `--redis <url>` and `--pool <name>`.') })
    expect(await cli(['worker', '--redis', 'redis://127.0.0.1:1', '--pool', 'p', '--idle-exit', 'soon'], cwd)).toMatchObject({ code: 2, stderr: expect.stringContaining('`--idle-exit` is an age such as 30s, 5m or 1h, got "soon".') })
    expect(await cli(['worker', '--redis', 'redis://127.0.0.1:1', '--pool', 'p', '--workers-per-node', '0'], cwd)).toMatchObject({ code: 2, stderr: expect.stringContaining('Expected `--workers-per-node` to be an integer >= 1, got "0".') })
  })

  it('--backend redis without --redis and --pool, or --redis without it: exit 2', async () => {
    expect(await cli(['run', 'x.ts', '--backend', 'redis', '--pool', 'p'], cwd)).toMatchObject({ code: 2, stderr: expect.stringContaining('`--backend redis` needs `--redis <url>` and `--pool <name>`') })
    expect(await cli(['run', 'x.ts', '--redis', 'redis://q:6379', '--pool', 'p'], cwd)).toMatchObject({ code: 2, stderr: expect.stringContaining('`--redis` and `--pool` are for `--backend redis`') })
  })

  it('an unknown command: exit 2, a did-you-mean', async () => {
    const { code, stderr } = await cli(['rn', 'x.ts'], cwd)
    expect(code).toBe(2)
    expect(stderr).toBe('spindle: Unknown command "rn". Did you mean "run"?\nRun `spindle --help` for usage.\n')
  })

  it('--workers 0 (and other non-integers): exit 2 before anything loads', async () => {
    for (const value of ['0', '-1', '1.5', 'four']) {
      const { code, stderr } = await cli(['run', 'missing.ts', `--workers=${value}`], cwd)
      expect(code).toBe(2)
      expect(stderr).toContain(`Expected \`--workers\` to be an integer >= 1, got "${value}".`)
    }
  })

  it('a flag without its value, an unknown backend or format, --hosts without ssh: exit 2', async () => {
    expect((await cli(['run', 'x.ts', '--workers'], cwd)).stderr).toContain("argument missing")
    expect((await cli(['run', 'x.ts', '--backend', 'proces'], cwd)).stderr).toContain('got "proces". Did you mean "process"?')
    expect((await cli(['graph', 'x.ts', '--format', 'svg'], cwd)).stderr).toContain('Expected `--format` to be one of mermaid, dot, got "svg".')
    expect((await cli(['run', 'x.ts', '--hosts', 'a'], cwd)).stderr).toContain('`--hosts` is for `--backend ssh`')
    expect((await cli(['run', 'x.ts', '--backend', 'ssh'], cwd)).stderr).toContain('`--backend ssh` needs `--hosts')
    expect((await cli(['run'], cwd)).stderr).toContain('run needs <file>.')
    for (const argv of [['run', 'x.ts', '--workers'], ['run'], ['graph', 'x', 'y']]) expect((await cli(argv, cwd)).code).toBe(2)
  })

  it('a run id that does not exist: exit 2, listing the recent runs', async () => {
    const first = await cli(['run', fixture('ok.mjs'), '--no-progress'], cwd)
    for (const argv of [['runs', 'show', 'nope'], ['resume', 'nope']]) {
      const { code, stderr } = await cli(argv, cwd)
      expect(code).toBe(2)
      expect(stderr).toContain(`No run "nope" in ${join(cwd, '.spindle/runs')}. Most recent runs, newest first: ${idOf(first.stdout)}.`)
      expect(stderr).toContain('[ERR_SPINDLE_UNKNOWN_RUN]')
    }
  })
})

describe('spindle runs and resume', () => {
  it('lists runs newest first and shows one with its steps and file', async () => {
    const ok = idOf((await cli(['run', fixture('ok.mjs'), '--no-progress'], cwd)).stdout)
    const failing = idOf((await cli(['run', fixture('failing.mjs'), '--no-progress'], cwd)).stdout)
    const list = await cli(['runs'], cwd)
    expect(list.code).toBe(0)
    const lines = list.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID +PIPELINE +STATUS +STARTED +DURATION +STEPS$/)
    expect(lines[1]).toMatch(new RegExp(`^${failing} +failing +failed +\\S+ +\\d+\\.\\d s +1/3 succeeded, 1 failed, 1 skipped$`))
    expect(lines[2]).toMatch(new RegExp(`^${ok} +ok +succeeded +\\S+ +\\d+\\.\\d s +3/3 succeeded$`))
    const show = await cli(['runs', 'show', failing], cwd)
    expect(show.stdout).toContain(`Run ${failing}\n  pipeline  failing\n  status    failed\n`)
    expect(show.stdout).toContain(`  file      ${fixture('failing.mjs')}\n`)
    expect(show.stdout).toMatch(/^ {2}boom +failed +1 attempt +\d+\.\d s +TypeError: kaput$/m)
    const json = JSON.parse((await cli(['runs', '--json'], cwd)).stdout)
    expect(json.map((r: { id: string }) => r.id)).toEqual([failing, ok])
  })

  it('resume of a run started from code (no recorded file) asks for the file, then uses it', async () => {
    const { default: pipeline } = await import('../fixtures/cli/ok.mjs')
    const runLog = join(cwd, '.spindle/runs')
    const fromCode = await pipeline.run({ runLog, cacheDir: join(cwd, 'cache') })
    const asked = await cli(['resume', fromCode.id], cwd)
    expect(asked.code).toBe(2)
    expect(asked.stderr).toContain(`Run "${fromCode.id}" was not started by the spindle CLI, so its pipeline file is not recorded: pass it, \`spindle resume ${fromCode.id} <file>\`.`)
    const resumed = await cli(['resume', fromCode.id, fixture('ok.mjs'), '--no-progress'], cwd)
    expect(resumed.code, resumed.stderr).toBe(0)
    for (const step of ['a', 'b', 'done']) expect(resumed.stdout).toMatch(new RegExp(`^  ${step} +succeeded .*\\(reused from resume\\)$`, 'm'))
  })

  it('runs shwo: a did-you-mean for the subcommand', async () => {
    const { code, stderr } = await cli(['runs', 'shwo', 'x'], cwd)
    expect(code).toBe(2)
    expect(stderr).toContain('runs takes no argument but `show <id>` or `prune`; got "shwo". Did you mean "show"?')
  })

  it('no runs yet: says where it looked', async () => {
    const { code, stdout } = await cli(['runs'], cwd)
    expect(code).toBe(0)
    expect(stdout).toBe(`No runs recorded in ${join(cwd, '.spindle/runs')}.\n`)
  })

  it('resume <id> finds the file in the run log and reruns only what did not succeed', async () => {
    process.env.CLI_TEST_DIR = cwd
    // The project's own file (inside the working directory): resume takes it from the run log.
    const failed = await cli(['run', projectFile(cwd, 'factory.mjs'), '--no-progress'], cwd)
    expect(failed.code).toBe(1)
    const resumed = await cli(['resume', idOf(failed.stdout), '--no-progress'], cwd)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toMatch(/^ {2}first +succeeded .*\(reused from resume\)$/m)
    expect(readFileSync(join(cwd, 'first'), 'utf8')).toBe('x') // ran once, in the first run only
    expect(readFileSync(join(cwd, 'second'), 'utf8')).toBe('xx')
  })
})

describe('names from the pipeline file', () => {
  let cwd = ''
  beforeEach(() => void (cwd = tempDir()))
  afterEach(() => rmSync(cwd, { recursive: true, force: true }))

  it('reach the terminal with their control characters escaped: progress, summary, runs, runs show', async () => {
    const ran = await cli(['run', fixture('escapes.mjs'), '--workers', '1'], cwd)
    expect(ran.code).toBe(1)
    const listed = await cli(['runs'], cwd)
    const id = /^Run (\S+)/m.exec(ran.stdout)![1]!
    const shown = await cli(['runs', 'show', id], cwd)
    for (const text of [ran.stdout, ran.stderr, listed.stdout, shown.stdout]) {
      expect(text).not.toMatch(/[\x07\x1b]/)
      expect(text).not.toMatch(/^lines/m) // "two\nlines" stays on one line
    }
    expect(ran.stdout).toContain('of "evil\\x1b]0;pwned\\x07" failed')
    expect(ran.stdout).toMatch(/^ {2}red\\x1b\[31mstep +succeeded/m)
    expect(ran.stdout).toMatch(/^ {2}two\\nlines +failed .*bad \\x1b\[2J clear/m)
    expect(ran.stderr).toContain('red\\x1b[31mstep succeeded')
    expect(shown.stdout).toContain('pipeline  evil\\x1b]0;pwned\\x07')
  })
})

describe('spindle --version', () => {
  it("prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const argv of [['--version'], ['-v'], ['version']]) {
      const { code, stdout } = await cli(argv, cwd)
      expect([code, stdout]).toEqual([0, `spindle ${version}\n`])
    }
  })
})

describe('spindle --help', () => {
  it('prints the usage and exits 0', async () => {
    for (const argv of [[], ['--help'], ['help'], ['run', '--help']]) {
      const { code, stdout } = await cli(argv, cwd)
      expect(code).toBe(0)
      expect(stdout).toBe(USAGE)
    }
  })
})
