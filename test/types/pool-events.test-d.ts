import { describe, expectTypeOf, it } from 'vitest'
import type { Compute, NodeEvent, NodeLostReason, NodeState, Percentiles, PoolStats } from 'spindle'

declare const compute: Compute

describe('node events and stats', () => {
  it('types the node listener by event, narrowed by `type`', () => {
    compute.on('node', (event) => {
      expectTypeOf(event).toEqualTypeOf<NodeEvent>()
      if (event.type === 'lost') {
        expectTypeOf(event.reason).toEqualTypeOf<NodeLostReason>()
        expectTypeOf(event.cause).toEqualTypeOf<Error>()
        expectTypeOf(event.next).toEqualTypeOf<'replace' | 'reconnect' | 'none'>()
      }
      expectTypeOf(event.host).toEqualTypeOf<string | undefined>()
    })
    expectTypeOf(compute.on('node', () => {})).toEqualTypeOf<Compute>()
    expectTypeOf(compute.off).toBeFunction()
  })

  it('gives stats as plain figures', () => {
    expectTypeOf(compute.stats()).toEqualTypeOf<PoolStats>()
    expectTypeOf<PoolStats['runTime']>().toEqualTypeOf<Percentiles | undefined>()
    expectTypeOf<PoolStats['nodes'][number]['state']>().toEqualTypeOf<NodeState>()
    expectTypeOf<Percentiles>().toEqualTypeOf<{ readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly count: number }>()
  })
})
