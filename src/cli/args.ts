/**
 * The command line, read with Node's own `util.parseArgs` (no dependency for six flags), plus
 * what it lacks: a did-you-mean for unknown flags and commands, and checked values (an integer
 * `--workers`, a known `--backend`). Every mistake is a `UsageError`, which main() prints as one
 * line and a pointer to `--help`, with exit code 2.
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../errors.js'
import { closest } from '../options.js'
import { paramTexts } from './params.js'
import { BACKEND_KINDS, takersOf, takes } from '../backends/registry.js'
import type { BackendKind } from '../worker/context.js'

export type BackendFlag = BackendKind
export const BACKENDS: readonly BackendFlag[] = BACKEND_KINDS
export type GraphFormat = 'mermaid' | 'dot'
export const GRAPH_FORMATS: readonly GraphFormat[] = ['mermaid', 'dot']

export const COMMANDS = ['run', 'graph', 'runs', 'resume', 'worker', 'help', 'version'] as const
export type CommandName = (typeof COMMANDS)[number]

/** The flags of `run` and `resume`: where and how the pipeline runs, and what it reports. */
export interface RunFlags {
  workers: number | undefined
  backend: BackendFlag | undefined
  hosts: string[] | undefined
  /** The Redis backend's broker and pool (`--redis`, `--pool`). The URL is never recorded: it may hold a password. */
  redis: string | undefined
  pool: string | undefined
  trace: string | undefined
  report: string | undefined
  json: boolean
  progress: boolean
  runLog: string | undefined
  /** `--param name=value` texts, by name (typed once the pipeline is loaded). */
  params: Record<string, string>
}

type FlagType = { type: 'string' | 'boolean'; multiple?: boolean }

const RUN_FLAGS: Record<string, FlagType> = {
  workers: { type: 'string' },
  backend: { type: 'string' },
  hosts: { type: 'string', multiple: true },
  redis: { type: 'string' },
  pool: { type: 'string' },
  trace: { type: 'string' },
  report: { type: 'string' },
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'run-log': { type: 'string' },
  param: { type: 'string', multiple: true },
}

/** Flags each command accepts (`--help` is accepted everywhere). */
export const FLAGS: Record<CommandName, Record<string, FlagType>> = {
  run: RUN_FLAGS,
  resume: RUN_FLAGS,
  graph: { format: { type: 'string' } },
  runs: { json: { type: 'boolean' }, 'run-log': { type: 'string' }, keep: { type: 'string' }, 'older-than': { type: 'string' } },
  worker: { redis: { type: 'string' }, pool: { type: 'string' }, 'workers-per-node': { type: 'string' }, 'idle-exit': { type: 'string' } },
  help: {},
  version: {},
}

export interface Parsed {
  command: CommandName
  positionals: string[]
  values: Record<string, string | boolean | string[] | undefined>
  help: boolean
}

/** Splits argv into a command, its positionals and its flags; throws UsageError on any mistake. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    return { command: 'help', positionals: [], values: {}, help: true }
  }
  if (first === '--version' || first === '-v') return { command: 'version', positionals: [], values: {}, help: false }
  if (first.startsWith('-')) throw unknownFlag(first, ['help', 'version'])
  if (!(COMMANDS as readonly string[]).includes(first)) {
    const guess = closest(first, COMMANDS)
    throw new UsageError(`Unknown command "${first}".${guess !== undefined ? ` Did you mean "${guess}"?` : ` Commands: ${COMMANDS.join(', ')}.`}`)
  }
  const command = first as CommandName
  const options = { ...FLAGS[command], help: { type: 'boolean' as const, short: 'h' } }
  // A first pass that accepts anything, to name an unknown flag with a did-you-mean
  // (parseArgs' own message has none), then the strict pass for missing values.
  const loose = parseArgs({ args: rest, options, strict: false, allowPositionals: true, tokens: true })
  for (const token of loose.tokens) {
    if (token.kind === 'option' && !(token.name in options)) throw unknownFlag(token.rawName, Object.keys(options))
  }
  let parsed
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true })
  } catch (error) {
    // e.g. "Option '--workers <value>' argument missing"
    throw new UsageError(`${command}: ${(error as Error).message}.`)
  }
  const { help, ...values } = parsed.values
  return { command, positionals: parsed.positionals, values, help: help === true }
}

/** Checks the values of the run flags. */
export function runFlags(command: string, values: Parsed['values']): RunFlags {
  const workers = values.workers === undefined ? undefined : integerFlag('--workers', values.workers as string, 1)
  const backend = values.backend as string | undefined
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) {
    throw new UsageError(`Expected \`--backend\` to be one of ${BACKENDS.join(', ')}, got "${backend}".${didYouMean(backend, BACKENDS)}`)
  }
  // --hosts a,b --hosts c: repeated, comma-separated, or both.
  const hosts = (values.hosts as string[] | undefined)?.flatMap((h) => h.split(',')).map((h) => h.trim()).filter((h) => h !== '')
  const hostsFor = takersOf('hosts').map((kind) => `\`--backend ${kind}\``).join(' or ')
  if (hosts !== undefined && (backend === undefined || !takes(backend as BackendKind, 'hosts'))) {
    throw new UsageError(`${command}: \`--hosts\` is for ${hostsFor}; add ${hostsFor}, or leave out \`--hosts\`.`)
  }
  // The SSH backend's nodes are its hosts; the Redis backend's dial in (hosts there only add workers).
  if (backend !== undefined && takes(backend as BackendKind, 'hosts') && !takes(backend as BackendKind, 'redis') && (hosts === undefined || hosts.length === 0)) {
    throw new UsageError(`${command}: \`--backend ${backend}\` needs \`--hosts user@host[:port],...\`.`)
  }
  const redis = values.redis as string | undefined
  const pool = values.pool as string | undefined
  const redisFor = takersOf('redis').map((kind) => `\`--backend ${kind}\``).join(' or ')
  // resume takes the recorded backend: its --redis and --pool are checked against that (run-command.ts).
  if ((redis !== undefined || pool !== undefined) && !(command === 'resume' && backend === undefined) && (backend === undefined || !takes(backend as BackendKind, 'redis'))) {
    throw new UsageError(`${command}: \`--redis\` and \`--pool\` are for ${redisFor}; add it, or leave them out.`)
  }
  if (backend !== undefined && takes(backend as BackendKind, 'redis') && (redis === undefined || pool === undefined)) {
    throw new UsageError(`${command}: \`--backend ${backend}\` needs \`--redis <url>\` and \`--pool <name>\` (the pool its workers were started with).`)
  }
  return {
    workers,
    backend: backend as BackendFlag | undefined,
    hosts,
    redis,
    pool,
    trace: values.trace as string | undefined,
    report: values.report as string | undefined,
    json: values.json === true,
    progress: values['no-progress'] !== true,
    runLog: values['run-log'] as string | undefined,
    params: paramTexts(values.param as string[] | undefined),
  }
}

export function graphFormat(values: Parsed['values']): GraphFormat {
  const format = (values.format as string | undefined) ?? 'mermaid'
  if (!(GRAPH_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`Expected \`--format\` to be one of ${GRAPH_FORMATS.join(', ')}, got "${format}".${didYouMean(format, GRAPH_FORMATS)}`)
  }
  return format as GraphFormat
}

/** Exactly `count` positionals, named in the message when some are missing or extra. */
export function positionals(command: string, given: readonly string[], names: readonly string[], optional = 0): string[] {
  const min = names.length - optional
  if (given.length < min) throw new UsageError(`${command} needs ${names.slice(given.length, min).map((n) => `<${n}>`).join(' ')}.`)
  if (given.length > names.length) throw new UsageError(`${command} takes ${names.map((n) => `<${n}>`).join(' ') || 'no arguments'}; got an extra "${given[names.length]}".`)
  return [...given]
}

export function integerFlag(name: string, text: string, min: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`Expected \`${name}\` to be an integer >= ${min}, got "${text}".`)
  }
  return value
}

function unknownFlag(raw: string, known: readonly string[]): UsageError {
  const name = raw.replace(/^-+/, '')
  return new UsageError(`Unknown flag "${raw}".${didYouMean(name, known, '--')}`)
}

function didYouMean(wanted: string, known: readonly string[], prefix = ''): string {
  const guess = closest(wanted, known)
  return guess === undefined ? '' : ` Did you mean "${prefix}${guess}"?`
}
