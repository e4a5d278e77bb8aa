import { describe, expectTypeOf, it } from 'vitest'
import {
  createRecorder,
  renderReport,
  traceEvents,
  type ParallelExecutor,
  type Pipeline,
  type PipelineEvent,
  type Recording,
  type RunRecord,
  type RunRecorder,
  type TraceEvent,
} from 'spindle'

describe('the run recorder', () => {
  it('is the seam the CLI codes against', () => {
    expectTypeOf(createRecorder).parameters.toEqualTypeOf<[pipeline: Pipeline, executor?: ParallelExecutor]>()
    expectTypeOf(createRecorder).returns.toEqualTypeOf<RunRecorder>()
    expectTypeOf<RunRecorder['onEvent']>().toEqualTypeOf<(event: PipelineEvent) => void>()
    expectTypeOf<RunRecorder['writeTrace']>().toEqualTypeOf<(file: string) => Promise<void>>()
    expectTypeOf<RunRecorder['writeReport']>().toEqualTypeOf<(file: string, record: RunRecord) => Promise<void>>()
  })

  it('has pure functions of a recording', () => {
    expectTypeOf(traceEvents).toEqualTypeOf<(recording: Recording) => TraceEvent[]>()
    expectTypeOf(renderReport).toEqualTypeOf<(record: RunRecord, recording: Recording) => string>()
    expectTypeOf<TraceEvent['ph']>().toEqualTypeOf<'X' | 'b' | 'e' | 'M'>()
  })

  it('gives step events the node and dispatch time as optional fields', () => {
    type StepEvent = Extract<PipelineEvent, { type: 'step' }>
    expectTypeOf<StepEvent['node']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<StepEvent['dispatchedAt']>().toEqualTypeOf<number | undefined>()
  })
})
