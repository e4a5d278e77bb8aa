/**
 * A graph of named steps and what each depends on: what a Pipeline compiles to and what the
 * scheduler orders. Steps may name dependencies defined later; `validate()` checks the whole
 * graph (unknown dependencies, then cycles). A duplicate name throws at `add()`, so the stack
 * points at the line that reused it and the graph never holds two steps under one name.
 *
 * Internally steps are numbered in definition order and edges are flat index arrays (CSR), built
 * once per validation: a 10,000-step graph is a handful of typed arrays, and the scheduler works
 * on indices, not on maps of strings.
 */
import { InvalidOptionError } from '../errors.js'
import { checkKnownKeys, shown } from '../options.js'
import { checkCost, cycleError, duplicateStep, findCycle, unknownDependency, unknownStep } from './validate.js'

export interface StepOptions {
  /** Steps that must succeed before this one starts; they may be defined later. @default [] */
  deps?: readonly string[]
  /** Estimated cost in any unit shared by the graph (1 per step, or ms from an earlier run). @default 1 */
  weight?: number
  /** Among ready steps, a higher priority starts first, whatever the bottom levels. @default 0 */
  priority?: number
}

/** A step's estimated cost by name (e.g. durations recorded by an earlier run). */
export type WeightFn = (name: string) => number

/** The validated graph as index arrays. Step i's successors are `succ[succStart[i] .. succStart[i + 1])`. */
export interface CompiledGraph {
  readonly names: readonly string[]
  readonly weights: Float64Array
  readonly priorities: Float64Array
  readonly succStart: Int32Array
  readonly succ: Int32Array
  readonly predStart: Int32Array
  readonly pred: Int32Array
  /** Every step, each after its dependencies (Kahn's algorithm, ties in definition order). */
  readonly order: Int32Array
}

interface StepDefinition {
  readonly name: string
  readonly deps: readonly string[]
  readonly weight: number
  readonly priority: number
}

const KNOWN_OPTIONS = ['deps', 'weight', 'priority'] as const

export class StepGraph {
  private readonly definitions: StepDefinition[] = []
  private readonly indices = new Map<string, number>()
  private compiledGraph: CompiledGraph | undefined

  /** Adds a step. Throws `ERR_SPINDLE_DUPLICATE_STEP` at once if the name is taken. */
  add(name: string, options: StepOptions = {}): void {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidOptionError(`Expected the step name to be a non-empty string, got ${shown(name)}`)
    }
    if (this.indices.has(name)) throw duplicateStep(name)
    checkKnownKeys(`step "${name}"`, options, KNOWN_OPTIONS)
    const { deps = [], weight = 1, priority = 0 } = options
    if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string')) {
      throw new InvalidOptionError(`Expected \`deps\` of step "${name}" to be an array of step names, got ${shown(deps)}`)
    }
    checkCost('weight', name, weight)
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new InvalidOptionError(`Expected \`priority\` of step "${name}" to be a finite number, got ${shown(priority)}`)
    }
    this.indices.set(name, this.definitions.length)
    this.definitions.push({ name, deps: [...new Set(deps)], weight, priority })
    this.compiledGraph = undefined
  }

  /** Throws `ERR_SPINDLE_UNKNOWN_STEP` or `ERR_SPINDLE_CYCLE` (the first found, in definition order). */
  validate(): void {
    this.compiled()
  }

  get size(): number {
    return this.definitions.length
  }

  /** Step names in definition order. */
  get steps(): string[] {
    return this.definitions.map((d) => d.name)
  }

  has(name: string): boolean {
    return this.indices.has(name)
  }

  /** The step's number (its definition order); throws `ERR_SPINDLE_UNKNOWN_STEP` for a name not defined. */
  indexOf(name: string): number {
    const index = this.indices.get(name)
    if (index === undefined) throw unknownStep(name, this.definitions.map((d) => d.name))
    return index
  }

  /** The steps `name` depends on, as given (duplicates removed). */
  predecessors(name: string): string[] {
    const g = this.compiled()
    return this.namesOf(g.pred, g.predStart, this.indexOf(name))
  }

  /** The steps that depend on `name`, in definition order. */
  successors(name: string): string[] {
    const g = this.compiled()
    return this.namesOf(g.succ, g.succStart, this.indexOf(name))
  }

  weight(name: string): number {
    return this.definitions[this.indexOf(name)]!.weight
  }

  priority(name: string): number {
    return this.definitions[this.indexOf(name)]!.priority
  }

  /** Every step, each after its dependencies; ties in definition order. */
  topologicalOrder(): string[] {
    const g = this.compiled()
    return Array.from(g.order, (i) => g.names[i]!)
  }

  /**
   * bl(v) = w(v) + max over successors s of bl(s): the longest remaining path from v to a sink,
   * counting v itself. `weight` defaults to each step's own `weight` option.
   */
  bottomLevels(weight?: WeightFn): Map<string, number> {
    const g = this.compiled()
    const levels = this.bottomLevelArray(weight)
    return new Map(g.names.map((name, i) => [name, levels[i]!]))
  }

  /** The bottom levels by step index, for the scheduler. */
  bottomLevelArray(weight?: WeightFn): Float64Array {
    const g = this.compiled()
    const w = this.weightArray(weight)
    const levels = new Float64Array(g.names.length)
    for (let k = g.order.length - 1; k >= 0; k--) {
      const v = g.order[k]!
      let longest = 0
      for (let e = g.succStart[v]!; e < g.succStart[v + 1]!; e++) longest = Math.max(longest, levels[g.succ[e]!]!)
      levels[v] = w[v]! + longest
    }
    return levels
  }

  /** The length of the longest path (0 for an empty graph): no schedule can be shorter. */
  criticalPath(weight?: WeightFn): number {
    return this.bottomLevelArray(weight).reduce((a, b) => Math.max(a, b), 0)
  }

  /** The sum of every step's weight: divided by the workers, the other bound on any schedule. */
  totalWork(weight?: WeightFn): number {
    return this.weightArray(weight).reduce((a, b) => a + b, 0)
  }

  /** The validated graph as index arrays; built once, rebuilt after the next `add()`. */
  compiled(): CompiledGraph {
    return (this.compiledGraph ??= this.compile())
  }

  private weightArray(weight: WeightFn | undefined): Float64Array {
    const g = this.compiled()
    if (weight === undefined) return g.weights
    return Float64Array.from(g.names, (name) => {
      const w = weight(name)
      checkCost('weight', name, w)
      return w
    })
  }

  private namesOf(list: Int32Array, start: Int32Array, index: number): string[] {
    const names = this.compiled().names
    return Array.from(list.subarray(start[index]!, start[index + 1]!), (i) => names[i]!)
  }

  private compile(): CompiledGraph {
    const defs = this.definitions
    const n = defs.length
    const names = defs.map((d) => d.name)
    const predStart = new Int32Array(n + 1)
    const succCount = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      const def = defs[i]!
      for (const dep of def.deps) {
        const d = this.indices.get(dep)
        if (d === undefined) throw unknownDependency(def.name, dep, names)
        succCount[d]!++
      }
      predStart[i + 1] = predStart[i]! + def.deps.length
    }
    const pred = new Int32Array(predStart[n]!)
    const succStart = new Int32Array(n + 1)
    for (let i = 0; i < n; i++) succStart[i + 1] = succStart[i]! + succCount[i]!
    const succ = new Int32Array(succStart[n]!)
    const fill = succStart.slice(0, n) // next free slot per step; filling in step order keeps successors in definition order
    for (let i = 0; i < n; i++) {
      let p = predStart[i]!
      for (const dep of defs[i]!.deps) {
        const d = this.indices.get(dep)!
        pred[p++] = d
        succ[fill[d]!++] = i
      }
    }
    const order = kahn(n, predStart, succStart, succ)
    if (order === undefined) throw cycleError(findCycle(n, succStart, succ)!.map((i) => names[i]!))
    return {
      names,
      weights: Float64Array.from(defs, (d) => d.weight),
      priorities: Float64Array.from(defs, (d) => d.priority),
      succStart,
      succ,
      predStart,
      pred,
      order,
    }
  }
}

/** A topological order, or undefined when a cycle leaves steps that never become ready. */
function kahn(n: number, predStart: Int32Array, succStart: Int32Array, succ: Int32Array): Int32Array | undefined {
  const waiting = new Int32Array(n)
  const order = new Int32Array(n) // doubles as the FIFO queue: [head, tail) is still to visit
  let tail = 0
  for (let i = 0; i < n; i++) {
    waiting[i] = predStart[i + 1]! - predStart[i]!
    if (waiting[i] === 0) order[tail++] = i
  }
  for (let head = 0; head < tail; head++) {
    const v = order[head]!
    for (let e = succStart[v]!; e < succStart[v + 1]!; e++) {
      const s = succ[e]!
      if (--waiting[s]! === 0) order[tail++] = s
    }
  }
  return tail === n ? order : undefined
}
