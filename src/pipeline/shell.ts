/**
 * Shell steps: a command run as a child process of this one (argv, or a string for `sh -c`).
 * Its argv words and environment values may be parameters or other steps' outputs, resolved when
 * the step starts (a Pending's own text would be "[object Object]"). Each line it prints is
 * handed on as it comes (the CLI streams it, prefixed with the step); the result keeps the last
 * ~1 MiB of each stream. A non-zero exit is an error that carries the exit code and the last lines.
 */
import { spawn } from 'node:child_process'
import { InvalidOptionError, SpindleError } from '../errors.js'
import { shown } from '../options.js'
import { isPending, type Pending } from '../task/pending.js'

export interface ShellResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** A word of the command or an environment value: text, or a parameter or step output giving one when the step starts. */
export type ShellValue = string | number | boolean | Pending<string> | Pending<number> | Pending<boolean>

export interface ShellOptions {
  cwd?: string
  env?: Record<string, ShellValue>
}

/** A shell step's command and environment with every parameter and step output in place. */
export interface ResolvedShell {
  readonly command: readonly string[] | string
  readonly cwd: string | undefined
  readonly env: Record<string, string> | undefined
}

/** Each line a shell step prints, without its newline, as it comes. */
export type LineListener = (stream: 'stdout' | 'stderr', line: string) => void

/**
 * Refuses, when the step is defined, what cannot become a word or an environment value: only
 * text, numbers, booleans, and parameters or step outputs (a call must be a step of its own first).
 */
export function checkShellValue(step: string, where: string, value: unknown): void {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return
  if (isPending(value) && value.kind === 'step') return
  const why = isPending(value) ? `${value.label}: make it a step first (p.step(name, call)) and pass that step` : shown(value)
  throw new InvalidOptionError(`Shell step "${step}": ${where} must be a string, number, boolean, parameter or step output, got ${why}.`)
}

/** The command and environment with parameters and step outputs resolved; a value that is not text-like is refused with its name. */
export async function resolveShell(
  step: string,
  command: readonly ShellValue[] | string,
  options: ShellOptions,
  resolve: (ref: Pending<unknown>) => Promise<unknown>,
): Promise<ResolvedShell> {
  const text = async (where: string, value: ShellValue): Promise<string> => {
    if (!isPending(value)) return String(value)
    const resolved = await resolve(value)
    if (typeof resolved === 'string' || typeof resolved === 'number' || typeof resolved === 'boolean' || typeof resolved === 'bigint') return String(resolved)
    throw new SpindleError(
      'ERR_SPINDLE_INVALID_ARGUMENT',
      `Shell step "${step}": ${where} is ${value.label}, whose value is ${shown(resolved)}; it must be a string, number or boolean. Pass one field of it, or JSON.stringify it in a step.`,
    )
  }
  const words = typeof command === 'string' ? command : await Promise.all(command.map((word, i) => text(`word ${i} of its command`, word)))
  const env = options.env === undefined ? undefined : Object.fromEntries(await Promise.all(Object.entries(options.env).map(async ([name, value]) => [name, await text(`env ${name}`, value)] as const)))
  return { command: words, cwd: options.cwd, env }
}

const KEEP_BYTES = 1 << 20
const TAIL_LINES = 10
/** A line longer than this (a program printing without newlines) is handed on in pieces. */
const LINE_MAX = 64 * 1024

export function runShell(step: string, shell: ResolvedShell, signal: AbortSignal, onLine?: LineListener): Promise<ShellResult> {
  const { command, cwd, env } = shell
  const [file, ...args] = typeof command === 'string' ? ['/bin/sh', '-c', command] : command
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, {
      cwd,
      env: env === undefined ? process.env : { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    })
    let stdout = ''
    let stderr = ''
    const lines = { stdout: lineSplitter('stdout', onLine), stderr: lineSplitter('stderr', onLine) }
    // Decoded as UTF-8 by the streams, so a character split between chunks arrives whole.
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => ((stdout = keep(stdout + chunk)), lines.stdout.add(chunk)))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => ((stderr = keep(stderr + chunk)), lines.stderr.add(chunk)))
    child.once('error', (error) => {
      if (signal.aborted) return reject(signal.reason)
      reject(new SpindleError('ERR_SPINDLE_SHELL_FAILED', `Shell step "${step}" could not start ${JSON.stringify(file)}: ${error.message}.`, { cause: error }))
    })
    child.once('close', (code, killedBy) => {
      lines.stdout.end() // a last line without a newline is a line too
      lines.stderr.end()
      if (signal.aborted) return reject(signal.reason)
      if (code === 0) return resolve({ code, stdout, stderr })
      const tail = lastLines(stderr)
      const how = code === null ? `was killed by ${killedBy}` : `exited with code ${code}`
      reject(
        Object.assign(
          new SpindleError(
            'ERR_SPINDLE_SHELL_FAILED',
            `Shell step "${step}" (${typeof command === 'string' ? command : command.join(' ')}) ${how}.` +
              (tail === '' ? ' It wrote nothing to stderr.' : ` Last lines of stderr:\n${tail}`),
          ),
          { exitCode: code, stderr: tail, stdout: lastLines(stdout) },
        ),
      )
    })
  })
}

/** Keeps the last ~1 MiB of a stream: enough for any error, bounded for any output. */
function keep(text: string): string {
  return text.length > KEEP_BYTES ? text.slice(-KEEP_BYTES) : text
}

/** The last lines of a stream's text, for an error and `spindle runs show`. */
export function lastLines(text: string, count = TAIL_LINES): string {
  return text.trimEnd().split('\n').slice(-count).join('\n')
}

/** Cuts a stream's chunks into lines for `onLine` (none without a listener). */
function lineSplitter(stream: 'stdout' | 'stderr', onLine: LineListener | undefined): { add(chunk: string): void; end(): void } {
  let partial = ''
  const emit = (line: string) => onLine!(stream, line.endsWith('\r') ? line.slice(0, -1) : line)
  return {
    add(chunk) {
      if (onLine === undefined) return
      const parts = (partial + chunk).split('\n')
      partial = parts.pop()!
      for (const line of parts) emit(line)
      if (partial.length > LINE_MAX) [partial] = [partial.slice(LINE_MAX), emit(partial.slice(0, LINE_MAX))]
    },
    end() {
      if (onLine !== undefined && partial !== '') emit(partial)
      partial = ''
    },
  }
}
