/**
 * Pipeline: named steps wired by their arguments (runnable's Pipeline, flowyml's steps). A step's
 * Pending may take other steps' outputs as arguments; that is what it depends on (plus `after`).
 * Branches of `parallel()` are pipelines of their own and may read steps of the pipelines that
 * contain them. Defining checks what it can at once (names, options); `run()` checks the whole
 * tree (unknown steps, cycles, steps of unrelated pipelines) before any step starts.
 */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidOptionError } from '../errors.js'
import { checkDuration, checkInteger, checkKnownKeys, shown } from '../options.js'
import { isPending, Pending, type StepRef } from '../task/pending.js'
import { duplicateStep } from '../graph/validate.js'
import { visitInOrder } from '../task/walk.js'
import { runPipeline, type RunPipelineOptions } from './run.js'
import { mapItemCall } from './map-step.js'
import { checkShellValue, type ShellOptions, type ShellResult, type ShellValue } from './shell.js'
import type { MapDefinition, ParamDeclaration, PipelineDefinition, StepDefinition } from './definition.js'
import type { RunRecord, StepKind, StepOptions } from './types.js'

const STEP_KEYS = ['after', 'retries', 'retryDelay', 'timeout', 'priority', 'cache', 'onFailure']

export class Pipeline implements PipelineDefinition {
  private readonly definitions = new Map<string, StepDefinition>()
  private readonly parameters = new Map<string, ParamDeclaration>()
  /** Steps of other pipelines this one reads (they must contain it, or the run fails at once). */
  readonly externals = new Map<string, StepRef>()

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

  /**
   * A step that runs a command: an argv array, or a string for `sh -c`. Argv words and `env`
   * values may be parameters or step outputs (the step then depends on them). Its output is
   * `{ code, stdout, stderr }`; its lines reach `onEvent` as they are printed.
   */
  shell(name: string, command: readonly ShellValue[] | string, options: StepOptions & ShellOptions = {}): Pending<ShellResult> {
    const ok = typeof command === 'string' ? command !== '' : Array.isArray(command) && command.length > 0
    if (!ok) throw new InvalidOptionError(`Shell step "${name}" needs a command: an argv array of strings or a non-empty string, got ${shown(command)}`)
    if (typeof command !== 'string') command.forEach((word, i) => checkShellValue(name, `word ${i} of its command`, word))
    const { cwd, env, ...stepOptions } = options
    if (env !== undefined && (typeof env !== 'object' || env === null)) throw new InvalidOptionError(`Expected \`env\` of shell step "${name}" to be an object of variables, got ${shown(env)}`)
    for (const [variable, value] of Object.entries(env ?? {})) checkShellValue(name, `env ${variable}`, value)
    return this.define(name, 'shell', { command, shell: { ...(cwd !== undefined && { cwd }), ...(env !== undefined && { env }) }, options: stepOptions }) as Pending<ShellResult>
  }

  /**
   * A step that runs a script file in its own Node process (runnable's notebook task): `.js`/`.mjs`
   * with node, `.ts` with node --import tsx. Arguments follow the file. Output: `{ code, stdout, stderr }`.
   */
  script(name: string, file: string | URL, options: StepOptions & ShellOptions & { args?: ShellValue[] } = {}): Pending<ShellResult> {
    const path = file instanceof URL ? fileURLToPath(file) : file
    if (typeof path !== 'string' || path === '') throw new InvalidOptionError(`Script step "${name}" needs a file, got ${shown(file)}`)
    const { args = [], ...rest } = options
    const loader = ['.ts', '.mts', '.cts'].includes(extname(path)) ? ['--import', 'tsx'] : []
    return this.shell(name, [process.execPath, ...loader, path, ...args], rest)
  }

  /** A step that does nothing: a placeholder, or a join point for `after`. */
  stub(name: string, options: Pick<StepOptions, 'after' | 'priority'> = {}): Pending<undefined> {
    return this.define(name, 'stub', { options }) as Pending<undefined>
  }

  /**
   * Branches that run at once, each a pipeline of its own (nested to any depth, on the one pool).
   * Output: each branch's result (the output of its last step), by branch name.
   */
  parallel<B extends Record<string, Pipeline>>(name: string, branches: B, options: StepOptions = {}): Pending<{ [K in keyof B]: unknown }> {
    const entries = Object.entries(branches ?? {})
    if (entries.length === 0 || entries.some(([, b]) => !(b instanceof Pipeline))) {
      throw new InvalidOptionError(`Parallel step "${name}" needs branches as { name: Pipeline, ... }, got ${shown(branches)}`)
    }
    return this.define(name, 'parallel', { branches, options }) as Pending<{ [K in keyof B]: unknown }>
  }

  /**
   * One call per item, keyed by index (runnable's Map): `each(item, index)` gives the call. Items
   * may be an array or an earlier step's output. Output: the values in item order, or `reduce(values)`.
   */
  map<T, R, O = R[]>(
    name: string,
    items: readonly T[] | Pending<readonly T[]> | Pending<T[]>,
    each: (item: T, index: number) => Pending<R>,
    options: StepOptions & { reduce?: (values: R[]) => O } = {},
  ): Pending<O> {
    if (!(Array.isArray(items) || isPending(items)) || typeof each !== 'function') {
      throw new InvalidOptionError(`Map step "${name}" needs items (an array or a step) and a function (item, index) => t.fn(item).`)
    }
    const { reduce, ...stepOptions } = options
    const map: MapDefinition = { items, each: each as MapDefinition['each'], reduce: reduce as MapDefinition['reduce'] }
    return this.define(name, 'map', { map, options: stepOptions }) as Pending<O>
  }

  /**
   * A run parameter (`p.run({ params })`, `spindle run --param name=value`), readable by every
   * step and nested branch. Declared here, so a run can refuse a value for a name nobody declares.
   * Declaring a name again returns the same parameter, if the default is the same.
   */
  param<T>(name: string, defaultValue?: T): Pending<T> {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError(`Expected the parameter name to be a non-empty string, got ${shown(name)}`)
    const declared: ParamDeclaration = { name, pipeline: this.name, hasDefault: arguments.length > 1, defaultValue }
    const earlier = this.parameters.get(name)
    if (earlier !== undefined && (earlier.hasDefault !== declared.hasDefault || !Object.is(earlier.defaultValue, defaultValue))) {
      throw new InvalidOptionError(
        `Parameter "${name}" of pipeline "${this.name}" is declared twice with different defaults (${earlier.hasDefault ? shown(earlier.defaultValue) : 'none'}, then ${declared.hasDefault ? shown(defaultValue) : 'none'}): declare it once and pass its Pending on.`,
      )
    }
    this.parameters.set(name, declared)
    return Pending.step<T>({ pipeline: this, name, param: { defaultValue, hasDefault: declared.hasDefault } })
  }

  /** The steps, in definition order. */
  get steps(): readonly StepDefinition[] {
    return [...this.definitions.values()]
  }

  /** The parameters this pipeline declares (not its branches'), in declaration order. */
  get params(): readonly ParamDeclaration[] {
    return [...this.parameters.values()]
  }

  /** Runs every step, independent ones at once; resolves with the run record (it does not reject for a failed step). */
  run(options: RunPipelineOptions = {}): Promise<RunRecord> {
    return runPipeline(this, options)
  }

  private define(
    name: string,
    kind: StepKind,
    parts: Partial<Pick<StepDefinition, 'pending' | 'command' | 'shell' | 'branches' | 'map'>> & { options: StepOptions },
  ): Pending<unknown> {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError(`Expected the step name to be a non-empty string, got ${shown(name)}`)
    if (this.definitions.has(name)) throw duplicateStep(name)
    checkStepOptions(name, parts.options)
    const deps = new Set<string>()
    const seen = new Set<Pending<unknown>>() // one walk for the whole definition: a shared call is read once
    const read = (p: unknown) => isPending(p) && this.collect(p, deps, seen)
    read(parts.pending)
    if (Array.isArray(parts.command)) parts.command.forEach(read)
    for (const value of Object.values(parts.shell?.env ?? {})) read(value)
    if (parts.map !== undefined) {
      read(parts.map.items)
      if (Array.isArray(parts.map.items)) parts.map.items.forEach((item, i) => read(mapItemCall(name, parts.map!.each, item, i)))
    }
    for (const branch of Object.values(parts.branches ?? {})) {
      for (const ref of branch.externals.values()) this.reference(ref, deps)
    }
    for (const dep of parts.options.after ?? []) {
      if (typeof dep === 'string') deps.add(dep)
      else read(dep)
    }
    this.definitions.set(name, {
      name,
      kind,
      pending: parts.pending,
      command: parts.command,
      shell: parts.shell ?? {},
      branches: parts.branches,
      map: parts.map,
      options: parts.options,
      deps: [...deps],
    })
    return Pending.step({ pipeline: this, name })
  }

  /** The steps a Pending reads, through nested calls, gathers, and arrays and objects in arguments. */
  private collect(pending: Pending<unknown>, into: Set<string>, seen: Set<Pending<unknown>>): void {
    visitInOrder(pending, (p) => seen.has(p), (p) => {
      seen.add(p)
      if (p.kind === 'step') this.reference(p.step!, into)
    })
  }

  private reference(ref: StepRef, into: Set<string>): void {
    if (ref.param !== undefined) return // parameters are there from the start
    if (ref.pipeline === this) into.add(ref.name)
    else this.externals.set(`${ref.pipeline.name}\0${ref.name}`, ref)
  }
}

function checkStepOptions(name: string, options: StepOptions): void {
  checkKnownKeys(`step "${name}"`, options, STEP_KEYS)
  if (options.retries !== undefined) checkInteger('retries', options.retries, 0)
  if (options.retryDelay !== undefined && options.retryDelay !== 0) checkDuration('retryDelay', options.retryDelay)
  if (options.timeout !== undefined) checkDuration('timeout', options.timeout)
  const recovery = options.onFailure
  if (recovery !== undefined && typeof recovery !== 'string' && !(isPending(recovery) && recovery.kind === 'step' && recovery.step!.param === undefined)) {
    throw new InvalidOptionError(`Expected \`onFailure\` of step "${name}" to be a step of this pipeline (or its name), got ${shown(recovery)}`)
  }
  if (options.cache !== undefined && typeof options.cache !== 'boolean') {
    throw new InvalidOptionError(`Expected \`cache\` of step "${name}" to be a boolean, got ${shown(options.cache)}`)
  }
  if (options.after !== undefined && !Array.isArray(options.after)) {
    throw new InvalidOptionError(`Expected \`after\` of step "${name}" to be an array of steps, got ${shown(options.after)}`)
  }
}
