import { describe, expectTypeOf, it } from 'vitest'
import { gather, remote, type Compute, type ComputeOptions, type Finished, type Pending, type SettledItem, type SpindleErrorCode, type SshErrorCode, type SshHost, type SshOptions, type RunLogOptions, type RunPipelineOptions } from 'spindle'
import type * as Tasks from '../fixtures/typed-tasks.js'

const t = remote<typeof Tasks>(new URL('../fixtures/typed-tasks.js', import.meta.url))
declare const compute: Compute

describe('remote()', () => {
  it('maps each exported function to one returning a Pending of its awaited result', () => {
    expectTypeOf(t.multiply(2, 3)).toEqualTypeOf<Pending<number>>()
    expectTypeOf(t.load('x')).toEqualTypeOf<Pending<{ rows: number[] }>>()
    expectTypeOf(t.greet('a')).toEqualTypeOf<Pending<string>>()
  })

  it('accepts a Pending wherever a value of its type is accepted', () => {
    expectTypeOf(t.multiply(t.multiply(1, 2), 3)).toEqualTypeOf<Pending<number>>()
    // @ts-expect-error a Pending<string> is not a number
    t.multiply(t.greet('a'), 3)
    // @ts-expect-error a string is not a number
    t.multiply('2', 3)
    // @ts-expect-error too few arguments
    t.multiply(2)
  })

  it('leaves out exports that are not functions', () => {
    // @ts-expect-error version is a string, not a task
    void t.version
  })
})

describe('gather() and compute', () => {
  it('types a batch per position, like Promise.all', async () => {
    const batch = gather(t.multiply(2, 3), t.greet('x'), t.load('p'))
    expectTypeOf(batch).toEqualTypeOf<Pending<[number, string, { rows: number[] }]>>()
    expectTypeOf(await compute.run(batch)).toEqualTypeOf<[number, string, { rows: number[] }]>()
    expectTypeOf(await compute.run(t.multiply(1, 2))).toEqualTypeOf<number>()
    expectTypeOf(await compute.broadcast(t.greet('n'))).toEqualTypeOf<string[]>()
  })

  it('streams values in order, or tagged results whose index narrows the value', async () => {
    const batch = gather(t.multiply(2, 3), t.greet('x'))
    for await (const value of compute.stream(batch)) expectTypeOf(value).toEqualTypeOf<number | string>()
    for await (const r of compute.stream(batch, { ordered: false })) {
      expectTypeOf(r).toEqualTypeOf<Finished<number, 0> | Finished<string, 1>>()
      if (r.index === 0) expectTypeOf(r.value).toEqualTypeOf<number>()
    }
  })

  it('rejects options that do not exist', () => {
    // @ts-expect-error `timeot` is not an option
    void compute.run(t.multiply(1, 2), { timeot: 5 })
    // @ts-expect-error node is a number or 'head'
    void compute.run(t.multiply(1, 2), { node: 'tail' })
  })
})

describe('parallelMap()', () => {
  it('infers the result from a remote function, an inline function or an async one', async () => {
    const { parallelMap } = await import('spindle')
    expectTypeOf(await parallelMap([1, 2], t.multiply)).toEqualTypeOf<number[]>()
    expectTypeOf(await parallelMap(['a'], t.load)).toEqualTypeOf<Array<{ rows: number[] }>>()
    expectTypeOf(await parallelMap([1, 2], (x: number) => String(x))).toEqualTypeOf<string[]>()
    expectTypeOf(await parallelMap(new Set([1]), async (x: number) => x > 0)).toEqualTypeOf<boolean[]>()
  })

  it('gives a typed array back for a typed array, and settled outcomes with settled: true', async () => {
    const { parallelMap } = await import('spindle')
    expectTypeOf(await parallelMap(new Float64Array(2), (x: number) => x * 2)).toEqualTypeOf<Float64Array>()
    const settled = await parallelMap([1], (x: number) => x, { settled: true })
    expectTypeOf(settled[0]!).toEqualTypeOf<SettledItem<number>>()
  })

  it('rejects a function whose parameter does not fit the items', async () => {
    const { parallelMap } = await import('spindle')
    // @ts-expect-error items are strings, multiply takes numbers
    void parallelMap(['a'], t.multiply)
  })
})

describe('SSH options', () => {
  it('take hosts as strings or SshHost objects, and SshError carries the host', async () => {
    const { SshError } = await import('spindle')
    expectTypeOf<NonNullable<ComputeOptions['hosts']>[number]>().toEqualTypeOf<string | SshHost>()
    expectTypeOf<SshHost['port']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<NonNullable<SshOptions['reconnect']>>().toEqualTypeOf<boolean | { attempts?: number; delay?: number }>()
    expectTypeOf<InstanceType<typeof SshError>['host']>().toEqualTypeOf<string>()
    expectTypeOf<InstanceType<typeof SshError>['code']>().toExtend<SshErrorCode | SpindleErrorCode>()
    // @ts-expect-error hosts are not numbers
    const bad: ComputeOptions = { backend: 'ssh', hosts: [22] }
    void bad
  })
})

describe('pipeline run options', () => {
  it('take runLog as a directory, false, or { dir, keep }', () => {
    expectTypeOf<RunPipelineOptions['runLog']>().toEqualTypeOf<string | false | RunLogOptions | undefined>()
    const kept: RunPipelineOptions = { runLog: { dir: '.spindle/runs', keep: 20 } }
    // @ts-expect-error keep is a number of runs
    const bad: RunPipelineOptions = { runLog: { keep: '20' } }
    void kept
    void bad
  })
})
