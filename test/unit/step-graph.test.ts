import { describe, it, expect } from 'vitest'
import { StepGraph, type StepOptions } from '../../src/graph/step-graph.js'
import { CycleError, DuplicateStepError, InvalidOptionError, SpindleError, UnknownStepError } from '../../src/errors.js'
import { caught } from '../helpers/testing.js'


function graphOf(steps: Record<string, StepOptions>): StepGraph {
  const graph = new StepGraph()
  for (const [name, options] of Object.entries(steps)) graph.add(name, options)
  return graph
}

/** load → featA, featB → train → report */
const etl = (): StepGraph =>
  graphOf({
    load: {},
    featA: { deps: ['load'], weight: 5 },
    featB: { deps: ['load'], weight: 2 },
    train: { deps: ['featA', 'featB'], weight: 10 },
    report: { deps: ['train'] },
  })

describe('StepGraph: structure', () => {
  it('keeps definition order, dependencies and dependents', () => {
    const graph = etl()
    expect(graph.size).toBe(5)
    expect(graph.steps).toEqual(['load', 'featA', 'featB', 'train', 'report'])
    expect(graph.predecessors('train')).toEqual(['featA', 'featB'])
    expect(graph.successors('load')).toEqual(['featA', 'featB'])
    expect(graph.successors('report')).toEqual([])
    expect(graph.has('train')).toBe(true)
    expect(graph.has('deploy')).toBe(false)
    expect(graph.weight('featA')).toBe(5)
    expect(graph.priority('featA')).toBe(0)
  })

  it('orders steps topologically, ties in definition order', () => {
    expect(etl().topologicalOrder()).toEqual(['load', 'featA', 'featB', 'train', 'report'])
    const late = graphOf({ report: { deps: ['train'] }, train: { deps: ['load'] }, load: {}, lint: {} })
    expect(late.topologicalOrder()).toEqual(['load', 'lint', 'train', 'report'])
  })

  it('accepts dependencies defined later and repeated dependencies', () => {
    const graph = graphOf({ b: { deps: ['a', 'a'] }, a: {} })
    expect(() => graph.validate()).not.toThrow()
    expect(graph.predecessors('b')).toEqual(['a'])
  })

  it('revalidates after add(): a missing dependency added later makes the graph valid', () => {
    const graph = graphOf({ report: { deps: ['parse'] } })
    expect(caught(() => graph.validate()).code).toBe('ERR_SPINDLE_UNKNOWN_STEP')
    graph.add('parse')
    expect(graph.topologicalOrder()).toEqual(['parse', 'report'])
  })

  it('handles the empty graph', () => {
    const graph = new StepGraph()
    expect(graph.topologicalOrder()).toEqual([])
    expect(graph.criticalPath()).toBe(0)
    expect(graph.totalWork()).toBe(0)
  })
})

describe('StepGraph: bottom levels and bounds', () => {
  it('is 1 per step along the longest path with unit weights', () => {
    const levels = etl().bottomLevels(() => 1)
    expect(Object.fromEntries(levels)).toEqual({ load: 4, featA: 3, featB: 3, train: 2, report: 1 })
  })

  it("uses each step's weight by default: bl(v) = w(v) + max over successors", () => {
    const graph = etl()
    expect(Object.fromEntries(graph.bottomLevels())).toEqual({ report: 1, train: 11, featA: 16, featB: 13, load: 17 })
    expect(graph.criticalPath()).toBe(17) // load → featA → train → report
    expect(graph.totalWork()).toBe(19)
  })

  it('takes weights from a function (durations recorded by an earlier run)', () => {
    const recorded: Record<string, number> = { load: 3, featA: 1, featB: 8, train: 2, report: 0 }
    const graph = etl()
    expect(Object.fromEntries(graph.bottomLevels((n) => recorded[n]!))).toEqual({
      report: 0, train: 2, featA: 3, featB: 10, load: 13,
    })
    expect(graph.criticalPath((n) => recorded[n]!)).toBe(13)
    expect(graph.totalWork((n) => recorded[n]!)).toBe(14)
  })

  it('takes the longest branch, not the last one, on a wide diamond', () => {
    const graph = graphOf({
      src: { weight: 2 },
      a: { deps: ['src'], weight: 1 },
      b: { deps: ['src'], weight: 7 },
      c: { deps: ['src'], weight: 3 },
      sink: { deps: ['a', 'b', 'c'], weight: 4 },
      side: { weight: 20 },
    })
    expect(Object.fromEntries(graph.bottomLevels())).toEqual({ src: 13, a: 5, b: 11, c: 7, sink: 4, side: 20 })
    expect(graph.criticalPath()).toBe(20)
  })

  it('rejects a weight function that returns a bad cost', () => {
    const error = caught(() => etl().bottomLevels((n) => (n === 'train' ? -1 : 1)))
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(error.message).toBe('Expected `weight` of step "train" to be a finite number >= 0, got `-1` (number)')
  })
})

describe('StepGraph: errors', () => {
  it('rejects a duplicate name at add()', () => {
    const graph = graphOf({ fetch: {}, parse: {} })
    const error = caught(() => graph.add('parse', { deps: ['fetch'] }))
    expect(error).toBeInstanceOf(DuplicateStepError)
    expect(error.code).toBe('ERR_SPINDLE_DUPLICATE_STEP')
    expect(error.message).toBe('Step "parse" is defined twice. Give each step its own name.')
    expect((error as DuplicateStepError).step).toBe('parse')
    expect(graph.size).toBe(2)
  })

  it('names an unknown dependency and lists the defined steps', () => {
    const graph = graphOf({ fetch: {}, parse: { deps: ['fetch'] }, report: { deps: ['deploy'] } })
    const error = caught(() => graph.validate())
    expect(error).toBeInstanceOf(UnknownStepError)
    expect(error.code).toBe('ERR_SPINDLE_UNKNOWN_STEP')
    expect(error.message).toBe('Step "report" depends on "deploy", which is not defined. Defined steps: fetch, parse, report.')
    expect((error as UnknownStepError).step).toBe('deploy')
  })

  it('suggests the closest name for a typo', () => {
    const graph = graphOf({ fetch: {}, parse: { deps: ['fetch'] }, report: { deps: ['parse2'] } })
    expect(caught(() => graph.validate()).message).toBe(
      'Step "report" depends on "parse2", which is not defined. Defined steps: fetch, parse, report. Did you mean "parse"?',
    )
  })

  it('lists at most 20 defined steps', () => {
    const graph = new StepGraph()
    for (let i = 0; i < 25; i++) graph.add(`s${i}`)
    graph.add('last', { deps: ['nothing-like-it'] })
    const names = Array.from({ length: 20 }, (_, i) => `s${i}`).join(', ')
    expect(caught(() => graph.validate()).message).toBe(
      `Step "last" depends on "nothing-like-it", which is not defined. Defined steps: ${names} and 6 more.`,
    )
  })

  it('says which name is unknown when a caller asks for a step that does not exist', () => {
    const error = caught(() => etl().successors('trian'))
    expect(error.code).toBe('ERR_SPINDLE_UNKNOWN_STEP')
    expect(error.message).toBe(
      'There is no step named "trian". Defined steps: load, featA, featB, train, report. Did you mean "train"?',
    )
  })

  it('prints the cycle path in run order', () => {
    const graph = graphOf({ build: { deps: ['package'] }, test: { deps: ['build'] }, package: { deps: ['test'] } })
    const error = caught(() => graph.validate())
    expect(error).toBeInstanceOf(CycleError)
    expect(error.code).toBe('ERR_SPINDLE_CYCLE')
    expect(error.message).toBe('Cycle between steps: build → test → package → build.')
    expect((error as CycleError).cycle).toEqual(['build', 'test', 'package', 'build'])
  })

  it('starts the cycle at its earliest-defined step, and leaves out steps that only lead to it', () => {
    const graph = graphOf({
      setup: {},
      lint: { deps: ['setup'] },
      test: { deps: ['setup', 'package'] },
      build: { deps: ['test'] },
      package: { deps: ['build'] },
      docs: { deps: ['package'] },
    })
    expect(caught(() => graph.validate()).message).toBe('Cycle between steps: test → build → package → test.')
  })

  it('reports a step that depends on itself', () => {
    const graph = graphOf({ a: {}, b: { deps: ['a', 'b'] } })
    expect(caught(() => graph.validate()).message).toBe('Cycle between steps: b → b.')
  })

  it('reports unknown dependencies before cycles', () => {
    const graph = graphOf({ a: { deps: ['b'] }, b: { deps: ['a'] }, c: { deps: ['zzz'] } })
    expect(caught(() => graph.validate()).code).toBe('ERR_SPINDLE_UNKNOWN_STEP')
  })

  it('finds a cycle through 50,000 steps without overflowing the stack', () => {
    const graph = new StepGraph()
    const n = 50_000
    for (let i = 0; i < n; i++) graph.add(`s${i}`, { deps: [`s${(i + n - 1) % n}`] })
    const error = caught(() => graph.validate()) as CycleError
    expect(error.cycle).toHaveLength(n + 1)
    expect(error.cycle.slice(0, 3)).toEqual(['s0', 's1', 's2'])
  })

  it('checks options with messages that say what was expected', () => {
    const graph = new StepGraph()
    expect(caught(() => graph.add('a', { dep: ['x'] } as StepOptions)).message).toBe(
      'Unknown option "dep" for step "a". Did you mean "deps"?',
    )
    expect(caught(() => graph.add('a', { weight: -1 })).message).toBe(
      'Expected `weight` of step "a" to be a finite number >= 0, got `-1` (number)',
    )
    expect(caught(() => graph.add('a', { priority: Number.NaN })).message).toBe(
      'Expected `priority` of step "a" to be a finite number, got `NaN` (number)',
    )
    expect(caught(() => graph.add('a', { deps: 'x' as unknown as string[] })).message).toBe(
      'Expected `deps` of step "a" to be an array of step names, got `"x"` (string)',
    )
    expect(caught(() => graph.add('')).message).toBe('Expected the step name to be a non-empty string, got `""` (string)')
    expect(graph.size).toBe(0)
  })
})
