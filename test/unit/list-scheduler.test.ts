import { describe, it, expect } from 'vitest'
import { StepGraph, type StepOptions } from '../../src/graph/step-graph.js'
import { ListScheduler, type SchedulingPolicy } from '../../src/graph/list-scheduler.js'
import { InvalidOptionError } from '../../src/errors.js'
import { caught } from '../helpers/testing.js'


function graphOf(steps: Record<string, StepOptions>): StepGraph {
  const graph = new StepGraph()
  for (const [name, options] of Object.entries(steps)) graph.add(name, options)
  return graph
}


/** Takes every ready step, in order, until none is ready. */
function drain(scheduler: ListScheduler): string[] {
  const taken: string[] = []
  for (let name = scheduler.next(); name !== undefined; name = scheduler.next()) taken.push(name)
  return taken
}

describe('ListScheduler: order of the ready queue', () => {
  it('starts the step with the longest remaining path first', () => {
    const graph = graphOf({ lone: {}, head: {}, mid: { deps: ['head'] }, tail: { deps: ['mid'] } })
    const scheduler = new ListScheduler(graph)
    expect(scheduler.readyCount).toBe(2)
    expect(drain(scheduler)).toEqual(['head', 'lone'])
  })

  it("puts the user's priority before the bottom level", () => {
    const graph = graphOf({ head: {}, mid: { deps: ['head'] }, urgent: { priority: 1 }, later: { priority: -1, weight: 9 } })
    expect(drain(new ListScheduler(graph))).toEqual(['urgent', 'head', 'later'])
  })

  it('weighs paths by the given costs (durations of an earlier run)', () => {
    const graph = graphOf({ a: {}, a2: { deps: ['a'] }, b: {} })
    expect(drain(new ListScheduler(graph))).toEqual(['a', 'b'])
    expect(drain(new ListScheduler(graph, { weight: (n) => (n === 'b' ? 5 : 1) }))).toEqual(['b', 'a'])
  })

  it('prefers the most recently readied, then definition order', () => {
    const graph = graphOf({ p: {}, q: {}, r: {}, p1: { deps: ['p'] }, q1: { deps: ['q'] } })
    const scheduler = new ListScheduler(graph)
    expect([scheduler.next(), scheduler.next()]).toEqual(['p', 'q'])
    expect(scheduler.complete('p')).toEqual(['p1'])
    expect(scheduler.next()).toBe('p1') // bottom level 1 like r, but readied later
    expect(scheduler.complete('q')).toEqual(['q1'])
    expect(drain(scheduler)).toEqual(['q1', 'r'])
  })

  it("orders 'fifo' by readied order only", () => {
    const graph = graphOf({ lone: { priority: 5 }, head: {}, mid: { deps: ['head'] }, tail: { deps: ['mid'] }, x: {} })
    const scheduler = new ListScheduler(graph, { policy: 'fifo' })
    expect(drain(scheduler)).toEqual(['lone', 'head', 'x'])
    scheduler.complete('head')
    scheduler.complete('lone')
    expect(drain(scheduler)).toEqual(['mid'])
  })
})

describe('ListScheduler: completion and failure', () => {
  it('readies dependents when their last dependency completes, and says when it is done', () => {
    const graph = graphOf({ load: {}, featA: { deps: ['load'] }, featB: { deps: ['load'] }, train: { deps: ['featA', 'featB'] } })
    const scheduler = new ListScheduler(graph)
    expect(scheduler.next()).toBe('load')
    expect(scheduler.next()).toBeUndefined()
    expect(scheduler.runningCount).toBe(1)
    expect(scheduler.complete('load')).toEqual(['featA', 'featB'])
    expect(scheduler.readyCount).toBe(2)
    expect(drain(scheduler)).toEqual(['featA', 'featB'])
    expect(scheduler.complete('featB')).toEqual([])
    expect(scheduler.stateOf('train')).toBe('waiting')
    expect(scheduler.complete('featA')).toEqual(['train'])
    expect(scheduler.done).toBe(false)
    expect(scheduler.next()).toBe('train')
    scheduler.complete('train')
    expect(scheduler.done).toBe(true)
    expect(scheduler.stateOf('train')).toBe('done')
  })

  it('skips every descendant of a failed step and runs the rest', () => {
    const graph = graphOf({ a: {}, e: {}, b: { deps: ['a'] }, c: { deps: ['a'] }, d: { deps: ['b', 'e'] }, f: { deps: ['e'] } })
    const scheduler = new ListScheduler(graph)
    expect(drain(scheduler)).toEqual(['a', 'e'])
    expect(scheduler.fail('a')).toEqual(['b', 'c', 'd'])
    expect(scheduler.stateOf('a')).toBe('failed')
    expect(scheduler.stateOf('d')).toBe('skipped')
    expect(scheduler.complete('e')).toEqual(['f']) // d lost its last dependency but stays skipped
    expect(scheduler.next()).toBe('f')
    expect(scheduler.fail('f')).toEqual([])
    expect(scheduler.done).toBe(true)
  })

  it('does not report a step skipped by an earlier failure again', () => {
    const graph = graphOf({ a: {}, b: {}, c: { deps: ['a', 'b'] }, d: { deps: ['b'] } })
    const scheduler = new ListScheduler(graph)
    drain(scheduler)
    expect(scheduler.fail('a')).toEqual(['c'])
    expect(scheduler.fail('b')).toEqual(['d'])
    expect(scheduler.done).toBe(true)
  })

  it('refuses to complete or fail a step that is not running, and names unknown steps', () => {
    const graph = graphOf({ a: {}, b: { deps: ['a'] } })
    const scheduler = new ListScheduler(graph)
    expect(caught(() => scheduler.complete('b')).message).toBe(
      'Cannot complete step "b": it is waiting, not running. Only a step returned by next() can be completed or failed, once.',
    )
    expect(caught(() => scheduler.fail('a')).message).toMatch(/^Cannot fail step "a": it is ready, not running\./)
    scheduler.next()
    scheduler.complete('a')
    const twice = caught(() => scheduler.complete('a'))
    expect(twice.code).toBe('ERR_SPINDLE_INVALID_ARGUMENT')
    expect(twice.message).toMatch(/it is done, not running/)
    expect(caught(() => scheduler.complete('c')).code).toBe('ERR_SPINDLE_UNKNOWN_STEP')
    graph.add('c') // after the scheduler was made: not part of its run
    expect(caught(() => scheduler.stateOf('c')).message).toBe('There is no step named "c". Defined steps: a, b.')
  })

  it('validates the graph and its options', () => {
    const cyclic = graphOf({ a: { deps: ['b'] }, b: { deps: ['a'] } })
    expect(caught(() => new ListScheduler(cyclic)).message).toBe('Cycle between steps: a → b → a.')
    const error = caught(() => new ListScheduler(new StepGraph(), { policy: 'lifo' as SchedulingPolicy }))
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(error.message).toBe("Expected `policy` to be one of 'bottom-level', 'fifo', got `\"lifo\"` (string)")
    expect(new ListScheduler(new StepGraph()).done).toBe(true)
  })
})
