/**
 * The Node flags a node agent starts with, by default: this program's own (`--import tsx`,
 * `--conditions`, memory flags carry over), less those that say what *this* process is to run
 * or how it is driven. `fork()` passes `process.execArgv` as it is, so a program started with
 * `node --input-type=module -e '…'` would give each agent the user's code to evaluate instead of
 * the agent (and `--input-type` is refused for a file), `--test` would run the agent as a test
 * file, `--watch` restart it, and `--inspect` make every agent fight for the caller's port.
 */

/** Flags that are dropped; those in TAKES_VALUE also drop the next word when written without `=`. */
const DROPPED = /^(?:-e|--eval|-p|--print|-pe|-c|--check|-i|--interactive|--input-type|--test(?:-[a-z-]+)?|--experimental-test-[a-z-]+|--watch(?:-[a-z-]+)?|--inspect(?:-[a-z-]+)?|--debug(?:-[a-z-]+)?)$/
const TAKES_VALUE = new Set([
  '-e', '--eval', '-p', '--print', '-pe', '--input-type',
  '--test-name-pattern', '--test-skip-pattern', '--test-reporter', '--test-reporter-destination',
  '--test-shard', '--test-concurrency', '--test-timeout', '--test-isolation', '--watch-path', '--inspect-port', '--debug-port',
])

export function agentExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!
    const equals = arg.indexOf('=')
    const flag = arg.startsWith('--') && equals > 0 ? arg.slice(0, equals) : arg
    if (!DROPPED.test(flag)) {
      kept.push(arg)
      continue
    }
    if (flag === arg && TAKES_VALUE.has(flag)) i++ // its value is the next word
  }
  return kept
}
