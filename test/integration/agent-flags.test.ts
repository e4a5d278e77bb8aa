// Node agents start with the flags that make sense for them: a program run with
// `node --input-type=module -e '…'`, `--eval`, `--print` or `--test` still gets working agents
// (fork() would hand them the user's code, or the test runner, instead of the agent).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { agentExecArgv } from '../../src/backends/process/agent-argv.js'

const spindle = new URL('../../dist/index.js', import.meta.url).href
const tasks = new URL('../fixtures/tasks.mjs', import.meta.url).href
const run = promisify(execFile)

/** A program that starts 2 agents, runs a call on each and prints what came back. */
const program = [
  `const { Compute, remote } = await import(${JSON.stringify(spindle)})`,
  `const t = remote(${JSON.stringify(tasks)})`,
  `const compute = await Compute.start({ backend: 'process', workers: 2 })`,
  `try { console.log(JSON.stringify(await compute.broadcast(t.add(20, 22)))) } finally { await compute.close() }`,
].join('\n')

describe('node agents under the flags of a program run from the command line', () => {
  it.each([
    ['--input-type=module -e', ['--input-type=module', '-e', program]],
    ['--input-type module --eval', ['--input-type', 'module', '--eval', program]],
    // (Each case carries --input-type, which an agent refuses at once if it gets it: a regression
    // fails fast instead of agents evaluating the program and starting agents of their own.)
    ['--input-type=commonjs -p', ['--input-type=commonjs', '-p', `(async () => {\n${program}\n})(), 'started'`]],
    ['--test-reporter=spec --eval', ['--test-reporter=spec', '--input-type=module', '--eval', program]],
  ])('%s: every agent starts and answers', async (_, argv) => {
    const { stdout, stderr } = await run(process.execPath, argv, { timeout: 30_000 })
    expect(stderr).toBe('')
    expect(stdout.trim().split('\n')).toContain('[42,42]')
  })

  it('keeps the flags that shape the program (loaders, conditions, memory) and drops those that say what to run', () => {
    expect(
      agentExecArgv([
        '--import', 'tsx', '--conditions=dev', '--max-old-space-size=512', '--input-type=module', '-e', 'code',
        '--test', '--test-reporter', 'spec', '--test-name-pattern=x', '--watch', '--watch-path', 'src',
        '--inspect=9229', '--inspect-brk', '-p', 'expr', '--enable-source-maps', '--check', '-r', 'dotenv/config',
      ]),
    ).toEqual(['--import', 'tsx', '--conditions=dev', '--max-old-space-size=512', '--enable-source-maps', '-r', 'dotenv/config'])
    expect(agentExecArgv([])).toEqual([])
  })
})
