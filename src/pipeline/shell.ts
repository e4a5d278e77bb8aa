/**
 * Shell steps: a command run as a child process of this one (argv, or a string for `sh -c`).
 * A non-zero exit is an error that carries the exit code and the last lines of stderr.
 */
import { spawn } from 'node:child_process'
import { SpindleError } from '../errors.js'

export interface ShellResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface ShellOptions {
  cwd?: string
  env?: Record<string, string>
}

const KEEP_BYTES = 1 << 20
const TAIL_LINES = 10

export function runShell(step: string, command: readonly string[] | string, options: ShellOptions, signal: AbortSignal): Promise<ShellResult> {
  const [file, ...args] = typeof command === 'string' ? ['/bin/sh', '-c', command] : command
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, {
      cwd: options.cwd,
      env: options.env === undefined ? process.env : { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout = keep(stdout + chunk.toString())))
    child.stderr.on('data', (chunk: Buffer) => (stderr = keep(stderr + chunk.toString())))
    child.once('error', (error) => {
      if (signal.aborted) return reject(signal.reason)
      reject(new SpindleError('ERR_SPINDLE_SHELL_FAILED', `Shell step "${step}" could not start ${JSON.stringify(file)}: ${error.message}.`, { cause: error }))
    })
    child.once('close', (code, killedBy) => {
      if (signal.aborted) return reject(signal.reason)
      if (code === 0) return resolve({ code, stdout, stderr })
      const tail = stderr.trimEnd().split('\n').slice(-TAIL_LINES).join('\n')
      const how = code === null ? `was killed by ${killedBy}` : `exited with code ${code}`
      reject(
        Object.assign(
          new SpindleError(
            'ERR_SPINDLE_SHELL_FAILED',
            `Shell step "${step}" (${typeof command === 'string' ? command : command.join(' ')}) ${how}.` +
              (tail === '' ? ' It wrote nothing to stderr.' : ` Last lines of stderr:\n${tail}`),
          ),
          { exitCode: code, stderr: tail },
        ),
      )
    })
  })
}

/** Keeps the last ~1 MiB of a stream: enough for any error, bounded for any output. */
function keep(text: string): string {
  return text.length > KEEP_BYTES ? text.slice(-KEEP_BYTES) : text
}
