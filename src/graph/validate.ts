/**
 * The checks behind `StepGraph.validate()` and the messages they throw. Messages name the
 * user's steps and say what to do; codes are stable (`ERR_SPINDLE_DUPLICATE_STEP`,
 * `ERR_SPINDLE_UNKNOWN_STEP`, `ERR_SPINDLE_CYCLE`), so callers match on the code.
 */
import { closest, shown } from '../options.js'
import { CycleError, DuplicateStepError, InvalidOptionError, UnknownStepError } from '../errors.js'

/** How many defined steps an unknown-step message lists before it says "and N more". */
const LISTED_STEPS = 20

export function duplicateStep(name: string): DuplicateStepError {
  return new DuplicateStepError(`Step "${name}" is defined twice. Give each step its own name.`, name)
}

/** `Step "report" depends on "parse2", which is not defined. Defined steps: fetch, parse, report.` */
export function unknownDependency(step: string, dependency: string, defined: readonly string[]): UnknownStepError {
  return new UnknownStepError(
    `Step "${step}" depends on "${dependency}", which is not defined. ${definedSteps(dependency, defined)}`,
    dependency,
  )
}

/** A caller (scheduler, executor) named a step the graph does not have. */
export function unknownStep(name: string, defined: readonly string[]): UnknownStepError {
  return new UnknownStepError(`There is no step named "${name}". ${definedSteps(name, defined)}`, name)
}

/** `cycle` in run order with its first step repeated last: `build → test → package → build`. */
export function cycleError(cycle: readonly string[]): CycleError {
  return new CycleError(`Cycle between steps: ${cycle.join(' → ')}.`, cycle)
}

/** Costs (weights, durations) are finite and >= 0: a negative or NaN cost would corrupt every priority. */
export function checkCost(label: string, step: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(`Expected \`${label}\` of step "${step}" to be a finite number >= 0, got ${shown(value)}`)
  }
}

/**
 * A cycle in the graph whose step i has successors succ[succStart[i] .. succStart[i + 1]), or
 * undefined. Depth-first with colours (white, grey on the path, black done), iterative so a long
 * chain cannot overflow the stack; roots and successors are visited in definition order, and the
 * cycle is rotated to start at its earliest-defined step, so the same graph always prints the same
 * cycle. Returned in run order (each step before the one that depends on it), first step repeated.
 */
export function findCycle(count: number, succStart: Int32Array, succ: Int32Array): number[] | undefined {
  const colour = new Uint8Array(count) // 0 white, 1 grey, 2 black
  const cursor = new Int32Array(count) // next successor offset to visit, per grey step
  const path: number[] = []
  for (let root = 0; root < count; root++) {
    if (colour[root] !== 0) continue
    colour[root] = 1
    cursor[root] = succStart[root]!
    path.push(root)
    while (path.length > 0) {
      const u = path[path.length - 1]!
      if (cursor[u]! === succStart[u + 1]!) {
        colour[u] = 2
        path.pop()
        continue
      }
      const v = succ[cursor[u]!++]!
      if (colour[v] === 0) {
        colour[v] = 1
        cursor[v] = succStart[v]!
        path.push(v)
      } else if (colour[v] === 1) {
        return rotated(path.slice(path.indexOf(v)))
      }
    }
  }
  return undefined
}

function rotated(cycle: number[]): number[] {
  const first = cycle.indexOf(cycle.reduce((a, b) => Math.min(a, b)))
  const ordered = [...cycle.slice(first), ...cycle.slice(0, first)]
  ordered.push(ordered[0]!)
  return ordered
}

function definedSteps(wanted: string, defined: readonly string[]): string {
  if (defined.length === 0) return 'No steps are defined yet.'
  const listed = defined.slice(0, LISTED_STEPS).join(', ')
  const more = defined.length > LISTED_STEPS ? ` and ${defined.length - LISTED_STEPS} more` : ''
  const guess = closest(wanted, defined)
  return `Defined steps: ${listed}${more}.` + (guess !== undefined ? ` Did you mean "${guess}"?` : '')
}
