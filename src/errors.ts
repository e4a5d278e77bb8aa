/**
 * spindle's own errors. Every one carries a stable `code` (match on it, not on the message),
 * says what happened in the user's words and what to do, and keeps the underlying `cause`.
 */

export type SpindleErrorCode =
  | 'ERR_SPINDLE_INVALID_OPTION'
  | 'ERR_SPINDLE_INVALID_ARGUMENT'
  | 'ERR_SPINDLE_WORKER_EXIT'
  | 'ERR_SPINDLE_WORKER_START'
  | 'ERR_SPINDLE_INTERRUPTED'
  | 'ERR_SPINDLE_TIMEOUT'
  | 'ERR_SPINDLE_NOT_CLONEABLE'
  | 'ERR_SPINDLE_MODULE_NOT_FOUND'
  | 'ERR_SPINDLE_MISSING_EXPORT'
  | 'ERR_SPINDLE_NO_SUCH_NODE'
  | 'ERR_SPINDLE_CLOSED'
  | 'ERR_SPINDLE_NOT_IN_TASK'
  | 'ERR_SPINDLE_SHARD_MISMATCH'
  | 'ERR_SPINDLE_PROTOCOL'
  | 'ERR_SPINDLE_NOT_SELF_CONTAINED'
  | 'ERR_SPINDLE_MAP_ITEM'
  | 'ERR_SPINDLE_STEP_OUTSIDE_PIPELINE'
  | 'ERR_SPINDLE_SHELL_FAILED'
  | 'ERR_SPINDLE_FOREIGN_STEP'
  | 'ERR_SPINDLE_NO_OUTPUT'
  | 'ERR_SPINDLE_MISSING_PARAM'
  | 'ERR_SPINDLE_DUPLICATE_STEP'
  | 'ERR_SPINDLE_UNKNOWN_STEP'
  | 'ERR_SPINDLE_CYCLE'
  | 'ERR_SPINDLE_UNKNOWN_RUN'
  | 'ERR_SPINDLE_RUN_EXISTS'
  | 'ERR_SPINDLE_CORRUPT_RUN'
  | 'ERR_SPINDLE_RUN_LOG_WRITE'
  | 'ERR_SPINDLE_RESUME_FILE_OUTSIDE'
  | 'ERR_SPINDLE_NOT_CACHEABLE'
  | 'ERR_SPINDLE_USAGE'
  | 'ERR_SPINDLE_NO_PIPELINE'
  | 'ERR_SPINDLE_PIPELINE_IMPORT'
  | 'ERR_SPINDLE_ACTOR_LOST'
  | SshErrorCode

/** The SSH backend's failures, each with its own code: what went wrong decides the fix. */
export type SshErrorCode =
  | 'ERR_SPINDLE_SSH_INVALID_HOST'
  | 'ERR_SPINDLE_SSH_UNREACHABLE'
  | 'ERR_SPINDLE_SSH_AUTH'
  | 'ERR_SPINDLE_SSH_HOST_KEY'
  | 'ERR_SPINDLE_SSH_NO_NODE'
  | 'ERR_SPINDLE_SSH_NODE_VERSION'
  | 'ERR_SPINDLE_SSH_BOOTSTRAP'
  | 'ERR_SPINDLE_SSH_LOST'
  | 'ERR_SPINDLE_REDIS_WORKER_LOST'
  | 'ERR_SPINDLE_REDIS_START_TIMEOUT'
  | 'ERR_SPINDLE_REDIS_UNREACHABLE'
  | 'ERR_SPINDLE_REDIS_DENIED'
  | 'ERR_SPINDLE_REDIS_REFUSED'

export class SpindleError extends Error {
  readonly code: SpindleErrorCode

  constructor(code: SpindleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    // An own, non-enumerable name: correct in stacks and inspect output, and writable so a
    // decoded error can carry the name it had on the other side.
    Object.defineProperty(this, 'name', { value: new.target.name, writable: true, configurable: true })
  }
}

/** A bad option or argument, detected before any work starts. */
export class InvalidOptionError extends SpindleError {
  constructor(message: string) {
    super('ERR_SPINDLE_INVALID_OPTION', message)
  }
}

/** What the backend saw when a worker, process or host died. */
export interface ExitDetails {
  backend: string
  node: number
  task: string
  exitCode?: number | null | undefined
  signal?: string | null | undefined
  pid?: number | undefined
  stderrTail?: string | undefined
}

/** The worker running a task died while the task was running, and the task is to blame. */
export class WorkerExitError extends SpindleError {
  readonly node: number
  readonly exitCode: number | null
  readonly task: string

  constructor(message: string, details: ExitDetails, options?: { cause?: unknown }) {
    super('ERR_SPINDLE_WORKER_EXIT', message, options)
    this.node = details.node
    this.exitCode = details.exitCode ?? null
    this.task = details.task
  }
}

/** A call was interrupted (its worker, process or host was lost) more times than allowed. */
export class InterruptedError extends SpindleError {
  readonly attempts: number
  constructor(message: string, attempts: number, options?: { cause?: unknown }) {
    super('ERR_SPINDLE_INTERRUPTED', message, options)
    this.attempts = attempts
  }
}

/** A call ran past its deadline; the work was stopped. */
export class TimeoutError extends SpindleError {
  readonly timeout: number
  constructor(message: string, timeout: number) {
    super('ERR_SPINDLE_TIMEOUT', message)
    this.timeout = timeout
  }
}

/** An argument or result cannot be sent between threads or processes. */
export class NotCloneableError extends SpindleError {
  /** Where the offending value sits, e.g. `args[1].model.predict`. */
  readonly path: string
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super('ERR_SPINDLE_NOT_CLONEABLE', message, options)
    this.path = path
  }
}

/** The pool was closed before the call could run. */
export class ClosedError extends SpindleError {
  constructor(message: string) {
    super('ERR_SPINDLE_CLOSED', message)
  }
}

/** An item of a parallelMap failed; `cause` is what its function threw (or what stopped its chunk). */
export class MapItemError extends SpindleError {
  /** The item's index in the input. */
  readonly index: number
  constructor(message: string, index: number, options?: { cause?: unknown }) {
    super('ERR_SPINDLE_MAP_ITEM', message, options)
    this.index = index
  }
}

/** Two steps of one graph were given the same name. */
export class DuplicateStepError extends SpindleError {
  readonly step: string
  constructor(message: string, step: string) {
    super('ERR_SPINDLE_DUPLICATE_STEP', message)
    this.step = step
  }
}

/** A step depends on (or a caller named) a step that is not defined; `step` is the missing name. */
export class UnknownStepError extends SpindleError {
  readonly step: string
  constructor(message: string, step: string) {
    super('ERR_SPINDLE_UNKNOWN_STEP', message)
    this.step = step
  }
}

/** The steps' dependencies form a cycle; `cycle` lists it in run order, first step repeated last. */
export class CycleError extends SpindleError {
  readonly cycle: readonly string[]
  constructor(message: string, cycle: readonly string[]) {
    super('ERR_SPINDLE_CYCLE', message)
    this.cycle = cycle
  }
}

/** The command line was wrong (a command, flag or value): the CLI prints it with the usage and exits 2. */
export class UsageError extends SpindleError {
  constructor(message: string) {
    super('ERR_SPINDLE_USAGE', message)
  }
}

/**
 * A pipeline file given to the CLI could not be used: it does not exist
 * (`ERR_SPINDLE_MODULE_NOT_FOUND`), exports no pipeline (`ERR_SPINDLE_NO_PIPELINE`), or threw
 * while it was imported (`ERR_SPINDLE_PIPELINE_IMPORT`, with what it threw as `cause`).
 */
export class PipelineLoadError extends SpindleError {
  readonly file: string
  constructor(code: 'ERR_SPINDLE_MODULE_NOT_FOUND' | 'ERR_SPINDLE_NO_PIPELINE' | 'ERR_SPINDLE_PIPELINE_IMPORT', message: string, file: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.file = file
  }
}

/** An SSH host could not be used (or was lost for good); `host` is the host as the user gave it. */
export class SshError extends SpindleError {
  readonly host: string
  constructor(code: SshErrorCode, message: string, host: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.host = host
  }
}

/**
 * An actor's state is gone: its node (worker, agent or host) was lost, or it was stopped to end a
 * method that ran past its timeout. Its pending and later calls fail with this; nothing is run
 * again, since a fresh instance would not have the state the calls expect (`restart` makes one).
 */
export class ActorLostError extends SpindleError {
  /** The actor, as messages name it: `Counter#2`. */
  readonly actor: string
  /** The node it lived on. */
  readonly node: number
  constructor(message: string, actor: string, node: number, options?: { cause?: unknown }) {
    super('ERR_SPINDLE_ACTOR_LOST', message, options)
    this.actor = actor
    this.node = node
  }
}

/** Names every error class that must be rebuilt with its own prototype after crossing a boundary. */
export const spindleErrorClasses: Record<string, new (...args: never[]) => Error> = {
  SpindleError,
  InvalidOptionError,
  WorkerExitError,
  InterruptedError,
  TimeoutError,
  NotCloneableError,
  ClosedError,
  MapItemError,
  DuplicateStepError,
  UnknownStepError,
  CycleError,
  UsageError,
  PipelineLoadError,
  SshError,
  ActorLostError,
}

