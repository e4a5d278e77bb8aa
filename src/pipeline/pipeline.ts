/**
 * Pipeline: named steps wired by their arguments (runnable's Pipeline, flowyml's steps). A step's
 * Pending may take other steps' outputs as arguments; that is what it depends on (plus `after`).
 * Defining checks what it can at once (names, foreign steps); `run()` checks the whole graph
 * (unknown steps, cycles) before any step starts.
 */
import { InvalidOptionError, SpindleError } from '../errors.js'
import { checkDuration, checkInteger, checkKnownKeys, shown } from '../options.js'
import { isPending, Pending } from '../task/pending.js'
import { duplicateStep } from '../graph/validate.js'
import { runPipeline, type RunPipelineOptions } from './run.js'
import type { ShellOptions, ShellResult } from './shell.js'
import type { RunRecord, StepKind, StepOptions } from './types.js'

export interface StepDefinition {
  readonly name: string
  readonly kind: StepKind
  readonly pending: Pending<unknown> | undefined
  readonly command: readonly string[] | string | undefined
  readonly shell: ShellOptions
  readonly options: StepOptions
  /** Names of the steps it waits for. */
  readonly deps: readonly string[]
}

const STEP_KEYS = ['after', 'retries', 'retryDelay', 'timeout', 'priority']

export class Pipeline {
  private readonly definitions = new Map<string, StepDefinition>()

  constructor(readonly name: string) {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError(`Expected the pipeline name to be a non-empty string, got ${shown(name)}`)
  }

  /** A step that runs `pending` (a remote call; its arguments may be other steps' outputs). */
  step<T>(name: string, pending: Pending<T>, options: StepOptions = {}): Pending<T> {
    if (!isPending(pending) || pending.kind === 'step') {
      throw new InvalidOptionError(`Step "${name}" needs a call to run, such as t.fn(args), got ${pending?.label ?? typeof pending}.`)
    }
    return this.define(name, 'call', { pending, options }) as Pending<T>
  }

  /** A step that runs a command: an argv array, or a string for `sh -c`. Its output is `{ code, stdout, stderr }`. */
  shell(name: string, command: readonly string[] | string, options: StepOptions & ShellOptions = {}): Pending<ShellResult> {
    const ok = typeof command === 'string' ? command !== '' : Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string')
    if (!ok) throw new InvalidOptionError(`Shell step "${name}" needs a command: an argv array of strings or a non-empty string, got ${shown(command)}`)
    const { cwd, env, ...stepOptions } = options
    return this.define(name, 'shell', { command, shell: { ...(cwd !== undefined && { cwd }), ...(env !== undefined && { env }) }, options: stepOptions }) as Pending<ShellResult>
  }

  /** A step that does nothing: a placeholder, or a join point for `after`. */
  stub(name: string, options: Pick<StepOptions, 'after' | 'priority'> = {}): Pending<undefined> {
    return this.define(name, 'stub', { options }) as Pending<undefined>
  }

  /** The steps, in definition order. */
  get steps(): readonly StepDefinition[] {
    return [...this.definitions.values()]
  }

  /** Runs every step, independent ones at once; resolves with the run record (it does not reject for a failed step). */
  run(options: RunPipelineOptions = {}): Promise<RunRecord> {
    return runPipeline(this, options)
  }

  private define(
    name: string,
    kind: StepKind,
    parts: { pending?: Pending<unknown>; command?: readonly string[] | string; shell?: ShellOptions; options: StepOptions },
  ): Pending<unknown> {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError(`Expected the step name to be a non-empty string, got ${shown(name)}`)
    if (this.definitions.has(name)) throw duplicateStep(name)
    checkStepOptions(name, parts.options)
    const deps = new Set<string>()
    if (parts.pending !== undefined) this.collectSteps(name, parts.pending, deps, new Set())
    for (const dep of parts.options.after ?? []) {
      if (typeof dep === 'string') deps.add(dep)
      else this.collectSteps(name, dep, deps, new Set())
    }
    this.definitions.set(name, {
      name,
      kind,
      pending: parts.pending,
      command: parts.command,
      shell: parts.shell ?? {},
      options: parts.options,
      deps: [...deps],
    })
    return Pending.step({ pipeline: this, name })
  }

  /** The steps a Pending reads, through nested calls and gathers. */
  private collectSteps(step: string, pending: Pending<unknown>, into: Set<string>, seen: Set<Pending<unknown>>): void {
    if (seen.has(pending)) return
    seen.add(pending)
    if (pending.kind === 'step') {
      const ref = pending.step!
      if (ref.pipeline !== this) {
        throw new SpindleError(
          'ERR_SPINDLE_FOREIGN_STEP',
          `Step "${step}" depends on step "${ref.name}" of pipeline "${ref.pipeline.name}". A step can only use steps ` +
            `of its own pipeline ("${this.name}"): define it here, or nest that pipeline with p.parallel().`,
        )
      }
      into.add(ref.name)
      return
    }
    for (const arg of pending.args) if (isPending(arg)) this.collectSteps(step, arg, into, seen)
  }
}

function checkStepOptions(name: string, options: StepOptions): void {
  checkKnownKeys(`step "${name}"`, options, STEP_KEYS)
  if (options.retries !== undefined) checkInteger('retries', options.retries, 0)
  if (options.retryDelay !== undefined && options.retryDelay !== 0) checkDuration('retryDelay', options.retryDelay)
  if (options.timeout !== undefined) checkDuration('timeout', options.timeout)
  if (options.after !== undefined && !Array.isArray(options.after)) {
    throw new InvalidOptionError(`Expected \`after\` of step "${name}" to be an array of steps, got ${shown(options.after)}`)
  }
}
