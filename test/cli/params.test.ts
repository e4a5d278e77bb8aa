// `spindle run --param name=value`: typed by the parameter's default, unknown names refused with
// a did-you-mean, kept by `resume`; and a parameter in a shell step's environment is its value.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RunLog } from '../../dist/runlog/run-log.js'
import { cli, fixture, projectFile, tempDir } from './helpers.js'

let cwd: string
beforeEach(() => void (cwd = tempDir()))
afterEach(() => rmSync(cwd, { recursive: true, force: true }))

const idOf = (stdout: string) => /^Run (\S+) of /m.exec(stdout)![1]!
const outputs = (id: string) => RunLog.open(join(cwd, '.spindle/runs')).read(id)

describe('spindle run --param', () => {
  it('types each value by its default (number, boolean, string, JSON), nested branches included', async () => {
    const argv = ['run', fixture('params.mjs'), '--no-progress', '--param', 'rows=50_000', '--param', 'verbose=true', '--param', 'label=big one', '--param', 'columns=["x","y"]', '--param', 'scale=3']
    const { code, stdout, stderr } = await cli(argv, cwd)
    expect(code, stderr).toBe(0)
    const run = outputs(idOf(stdout))
    expect(run.output('values')).toEqual({ rows: 50_000, verbose: true, label: 'big one', columns: ['x', 'y'] })
    expect(run.output('nested/branch/scaled')).toBe(150_000)
    // Without --param: the defaults.
    const plain = await cli(['run', fixture('params.mjs'), '--no-progress'], cwd)
    expect(outputs(idOf(plain.stdout)).output('values')).toEqual({ rows: 20_000, verbose: false, label: 'run', columns: ['x'] })
  })

  it('a value that is not of the default\'s type: exit 2, one line naming the param, its default and the value', async () => {
    const cases: Array<[string, string]> = [
      ['rows=lots', 'Expected `--param rows` to be a number (its default is 20000), got "lots".'],
      ['rows=', 'Expected `--param rows` to be a number (its default is 20000), got "".'],
      ['verbose=yes', 'Expected `--param verbose` to be true or false (its default is false), got "yes".'],
      ['columns={"a":1}', 'Expected `--param columns` to be a JSON array (its default is ["x"]), got "{"a":1}".'],
      ['=3', 'Expected `--param` to be name=value, such as `--param rows=50000`, got "=3".'],
      ['rows', 'Expected `--param` to be name=value, such as `--param rows=50000`, got "rows".'],
    ]
    for (const [flag, message] of cases) {
      const { code, stdout, stderr } = await cli(['run', fixture('params.mjs'), '--param', flag], cwd)
      expect([code, stdout, stderr]).toEqual([2, '', `spindle: ${message}\nRun \`spindle --help\` for usage.\n`])
    }
  })

  it('an unknown name: exit 2 with a did-you-mean, or the declared names, before any run is recorded', async () => {
    const typo = await cli(['run', fixture('params.mjs'), '--param', 'rwos=5'], cwd)
    expect(typo.code).toBe(2)
    expect(typo.stderr).toBe('spindle: Pipeline "params" has no parameter "rwos". Did you mean "rows"? (`--param rwos=...`)\nRun `spindle --help` for usage.\n')
    const far = await cli(['run', fixture('params.mjs'), '--param', 'threshold=5'], cwd)
    expect(far.stderr).toContain('Pipeline "params" has no parameter "threshold". Its parameters: rows, verbose, label, columns, scale.')
    const none = await cli(['run', fixture('ok.mjs'), '--param', 'rows=5'], cwd)
    expect(none.stderr).toContain('Pipeline "ok" has no parameter "rows". It declares none: declare one with p.param(name, default).')
    expect((await cli(['runs'], cwd)).stdout).toMatch(/^No runs recorded/)
  })

  it('resume keeps the run\'s params, shows them in runs show, and refuses different ones', async () => {
    const first = await cli(['run', projectFile(cwd, 'params.mjs'), '--no-progress', '--param', 'rows=7'], cwd)
    expect(first.code, first.stderr).toBe(0)
    const id = idOf(first.stdout)
    expect((await cli(['runs', 'show', id], cwd)).stdout).toContain('  params    rows=7\n')
    const resumed = await cli(['resume', id, '--no-progress'], cwd)
    expect(resumed.code, resumed.stderr).toBe(0)
    const again = idOf(resumed.stdout)
    expect((await cli(['runs', 'show', again], cwd)).stdout).toContain('  params    rows=7\n')
    const same = await cli(['resume', id, '--no-progress', '--param', 'rows=7'], cwd)
    expect(same.code, same.stderr).toBe(0)
    const other = await cli(['resume', id, '--param', 'rows=8'], cwd)
    expect(other.code).toBe(2)
    expect(other.stderr).toContain(`Run "${id}" was made with \`--param rows=7\`; resume keeps its params. To run with \`--param rows=8\`, start a new run: \`spindle run\`.`)
    const added = await cli(['resume', id, '--param', 'label=x'], cwd)
    expect(added.stderr).toContain(`Run "${id}" was made without \`--param label\`; resume keeps its params.`)
  })

  it('the steps resume runs again see the recorded params', async () => {
    process.env.CLI_TEST_DIR = cwd
    const first = await cli(['run', projectFile(cwd, 'params-flaky.mjs'), '--no-progress', '--param', 'rows=9'], cwd)
    expect(first.code).toBe(1) // `flaky` fails once, `scaled` is skipped
    const resumed = await cli(['resume', idOf(first.stdout), '--no-progress'], cwd)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(outputs(idOf(resumed.stdout)).output('scaled')).toBe(90)
  })
})

describe('a parameter in a shell step\'s env', () => {
  it('is its value, from --param or the default, not "[object Object]"', async () => {
    const given = await cli(['run', fixture('params.mjs'), '--no-progress', '--param', 'rows=12', '--param', 'label=a b'], cwd)
    expect(given.code, given.stderr).toBe(0)
    expect(outputs(idOf(given.stdout)).output('env')).toMatchObject({ code: 0, stdout: 'ROWS=12 LABEL=a b\n' })
    const defaults = await cli(['run', fixture('params.mjs'), '--no-progress'], cwd)
    expect(outputs(idOf(defaults.stdout)).output('env')).toMatchObject({ stdout: 'ROWS=20000 LABEL=run\n' })
  })
})

describe('pipeline.run({ params })', () => {
  it('refuses a name that no pipeline of the tree declares, with a did-you-mean', async () => {
    const { default: p } = await import('../fixtures/cli/params.mjs')
    await expect(p.run({ runLog: false, params: { scael: 3 } })).rejects.toMatchObject({
      code: 'ERR_SPINDLE_INVALID_OPTION',
      message: 'Pipeline "params" has no parameter "scael". Did you mean "scale"?',
    })
  })
})
