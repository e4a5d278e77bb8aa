// Optional OpenTelemetry: with a tracer provider registered (the SDK's in-memory exporter), calls,
// parallelMap chunks and pipeline steps are spans under the caller's; a span a task starts in its
// worker is a child of its call's span; with no provider, or no API installed, nothing changes.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { BroadcastChannel } from 'node:worker_threads'
import { context, trace, type Span } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gather, ParallelExecutor, parallelMap, Pipeline, remote, traceparent } from 'spindle'
import type * as OtelTasks from '../fixtures/otel-tasks.mjs'
import type * as PlainTasks from '../fixtures/otel-plain-tasks.mjs'
import { AsyncContextManager, spanData } from '../fixtures/otel-context.mjs'
import { CHANNEL } from '../fixtures/otel-worker-setup.mjs'
import { tasks as t, usePools } from '../helpers/pools.js'
import { runSshTests } from '../helpers/sshd.js'

type SpanData = ReturnType<typeof spanData>

const ot = remote<typeof OtelTasks>(new URL('../fixtures/otel-tasks.mjs', import.meta.url))
const plain = remote<typeof PlainTasks>(new URL('../fixtures/otel-plain-tasks.mjs', import.meta.url))
const PLAIN_TASKS = new URL('../fixtures/otel-plain-tasks.mjs', import.meta.url).href
const WORKER_SETUP = new URL('../fixtures/otel-worker-setup.mjs', import.meta.url).href
const exporter = new InMemorySpanExporter()
const tracer = () => trace.getTracer('otel-test')
const pools = usePools()

beforeEach(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
  context.setGlobalContextManager(new AsyncContextManager().enable())
})
afterEach(() => {
  trace.disable()
  context.disable()
  exporter.reset()
})

const finished = (): SpanData[] => exporter.getFinishedSpans().map(spanData)
const named = (name: string): SpanData[] => finished().filter((s) => s.name === name)
const one = (name: string): SpanData => {
  const found = named(name)
  expect(found.map((s) => s.name), `spans named ${name} among ${finished().map((s) => s.name).join(', ')}`).toEqual([name])
  return found[0]!
}

/** Runs `fn` inside an active span of the test's own ("request"); returns that span's data after it ends. */
async function inRequest<T>(fn: () => Promise<T>): Promise<{ result: T; request: SpanData }> {
  const result = await tracer().startActiveSpan('request', async (span: Span) => {
    try {
      return await fn()
    } finally {
      span.end()
    }
  })
  return { result, request: one('request') }
}

describe.each(['thread', 'inline'] as const)('OpenTelemetry on the %s backend', (backend) => {
  const start = () => pools(backend === 'inline' ? { backend } : { backend, workers: 2 })

  it('compute.run: a span per call, under the caller\'s active span, with task, module, backend, node and attempt', async () => {
    const compute = await start()
    const { result, request } = await inRequest(() => compute.run(gather(t.add(1, 2), t.multiply(3, 4))))
    expect(result).toEqual([3, 12])
    const calls = [one('spindle.call add'), one('spindle.call multiply')]
    for (const call of calls) {
      expect(call.traceId).toBe(request.traceId)
      expect(call.parentSpanId).toBe(request.spanId)
      expect(call.attributes).toMatchObject({ 'spindle.task.module': new URL('../fixtures/tasks.mjs', import.meta.url).href, 'spindle.backend': backend, 'spindle.attempt': 1 })
      expect(call.attributes['spindle.node']).toBeTypeOf('number')
      expect(call.status.code).toBe(0) // UNSET: succeeded
    }
    expect(calls.map((c) => c.attributes['spindle.task.name'])).toEqual(['add', 'multiply'])
  })

  it('parallelMap: a span for the map, a span per chunk under it with its items\' range', async () => {
    const compute = await start()
    const { result, request } = await inRequest(() => parallelMap([1, 2, 3, 4, 5, 6, 7], t.echo, { compute, chunkSize: 3 }))
    expect(result).toEqual([1, 2, 3, 4, 5, 6, 7])
    const map = one('spindle.parallelMap echo')
    expect(map.parentSpanId).toBe(request.spanId)
    expect(map.attributes).toMatchObject({ 'spindle.task.name': 'echo', 'spindle.backend': backend })
    const chunks = named('spindle.chunk echo')
    expect(chunks.every((c) => c.parentSpanId === map.spanId && c.traceId === request.traceId)).toBe(true)
    const ranges = chunks.map((c) => [c.attributes['spindle.chunk.start'], c.attributes['spindle.chunk.end']]).sort((a, b) => Number(a[0]) - Number(b[0]))
    expect(ranges).toEqual([[0, 3], [3, 6], [6, 7]])
    for (const chunk of chunks) expect(chunk.attributes).toMatchObject({ 'spindle.task.name': 'echo', 'spindle.backend': backend, 'spindle.attempt': 1 })
  })

  it('parallelMap.iterate and a typed array\'s map: a span each, their calls under them', async () => {
    const compute = await start()
    const seen: number[] = []
    for await (const x of parallelMap.iterate([1, 2, 3], t.echo, { compute, chunkSize: 2 })) seen.push(x)
    expect(seen).toEqual([1, 2, 3])
    const iterate = one('spindle.parallelMap.iterate echo')
    expect(named('spindle.chunk echo').map((c) => [c.parentSpanId, c.attributes['spindle.chunk.start'], c.attributes['spindle.chunk.end']]).sort()).toEqual([
      [iterate.spanId, 0, 2],
      [iterate.spanId, 2, 3],
    ])
    exporter.reset()
    const input = Float64Array.from({ length: 4096 }, (_, i) => i) // 4 blocks of 1,024
    expect(await parallelMap(input, t.echo, { compute })).toEqual(input)
    const map = one('spindle.parallelMap echo')
    const blocks = named('spindle.blocks echo') // one call per worker, taking blocks from a shared counter
    expect(blocks.length).toBe(compute.nodes)
    expect(blocks.every((b) => b.parentSpanId === map.spanId)).toBe(true)
  })

  it('a pipeline: the run\'s span, a span per step (branches\' steps under their parallel step), each call under its step', async () => {
    const compute = await start()
    const branch = (name: string, x: number) => {
      const b = new Pipeline(name)
      b.step('double', t.multiply(x, 2))
      return b
    }
    const p = new Pipeline('etl')
    const load = p.step('load', t.add(1, 2))
    p.parallel('variants', { small: branch('small', 1), large: branch('large', 10) })
    p.map('each', [1, 2], (x) => t.multiply(x, 3))
    p.step('report', t.add(load, 1))
    const { result: run, request } = await inRequest(() => p.run({ executor: new ParallelExecutor({ backend: compute }), runLog: false }))
    expect(run.status).toBe('succeeded')
    const pipeline = one('spindle.pipeline etl')
    expect(pipeline.parentSpanId).toBe(request.spanId)
    expect(pipeline.attributes).toMatchObject({ 'spindle.pipeline.name': 'etl', 'spindle.run.id': run.id, 'spindle.run.status': 'succeeded', 'spindle.backend': backend })
    const step = (name: string) => one(`spindle.step ${name}`)
    for (const name of ['load', 'variants', 'each', 'report']) {
      expect(step(name).parentSpanId).toBe(pipeline.spanId)
      expect(step(name).attributes).toMatchObject({ 'spindle.step.name': name, 'spindle.pipeline.name': 'etl', 'spindle.step.status': 'succeeded', 'spindle.step.attempts': 1 })
    }
    expect(step('variants').attributes['spindle.step.kind']).toBe('parallel')
    for (const name of ['variants/small/double', 'variants/large/double']) {
      expect(step(name).parentSpanId).toBe(step('variants').spanId)
      expect(step(name).attributes['spindle.pipeline.name']).toBe(name.split('/')[1])
    }
    const calls = finished().filter((s) => s.name.startsWith('spindle.call '))
    const under = (stepName: string) => calls.filter((c) => c.parentSpanId === step(stepName).spanId).map((c) => c.name)
    expect(under('load')).toEqual(['spindle.call add'])
    expect(under('report')).toEqual(['spindle.call add'])
    expect(under('variants/small/double')).toEqual(['spindle.call multiply'])
    expect(under('each')).toEqual(['spindle.call multiply', 'spindle.call multiply'])
    expect(calls).toHaveLength(6)
    expect(finished().every((s) => s.traceId === request.traceId)).toBe(true)
  })

  it('a failing call\'s span has status ERROR and the exception; so do its step\'s and its run\'s', async () => {
    const compute = await start()
    await expect(compute.run(ot.fail('bad input'))).rejects.toThrow('bad input')
    const call = one('spindle.call fail')
    expect(call.status).toEqual({ code: 2, message: 'bad input' }) // SpanStatusCode.ERROR
    expect(call.events).toEqual([{ name: 'exception', attributes: expect.objectContaining({ 'exception.message': 'bad input', 'exception.type': 'E_TASK' }) }])

    exporter.reset()
    const p = new Pipeline('failing')
    p.step('bad', ot.fail('step input'))
    const run = await p.run({ executor: new ParallelExecutor({ backend: compute }), runLog: false })
    expect(run.status).toBe('failed')
    for (const name of ['spindle.call fail', 'spindle.step bad', 'spindle.pipeline failing']) {
      expect(one(name).status, name).toEqual({ code: 2, message: 'step input' })
    }
    expect(one('spindle.step bad').attributes['spindle.step.status']).toBe('failed')
  })
})

describe('OpenTelemetry on the process backend', () => {
  it('a traced map has what the pool gives an untraced one: an exit inside an item of a chunk fails that item alone', async () => {
    const compute = await pools({ backend: 'process', workers: 2 })
    const dir = mkdtempSync(join(tmpdir(), 'spindle-otel-exit-'))
    try {
      const items = Array.from({ length: 20 }, (_, i) => ({ dir, i, exit: i === 13 }))
      const { result } = await inRequest(() => parallelMap(items, t.countRunFileOrExit, { compute, chunkSize: 10, settled: true }))
      expect(result.flatMap((o, i) => (o.status === 'rejected' ? [i] : []))).toEqual([13])
      expect(named('spindle.chunk countRunFileOrExit').length).toBeGreaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('OpenTelemetry inside the workers', () => {
  const workerSpans: SpanData[] = []
  let arrived: () => void = () => {}
  const channel = new BroadcastChannel(CHANNEL)
  channel.onmessage = (event) => {
    workerSpans.push((event as { data: SpanData }).data)
    arrived()
  }
  afterAll(() => channel.close())

  /** The span named `name` that a worker exported, once its message has arrived. */
  async function workerSpan(name: string): Promise<SpanData> {
    for (;;) {
      const found = workerSpans.find((s) => s.name === name)
      if (found !== undefined) return found
      await new Promise<void>((resolve) => (arrived = resolve))
    }
  }

  it('a span a task starts (its worker has a provider, preloaded by execArgv) is a child of the call\'s span, across an await', async () => {
    const compute = await pools({ workers: 2, execArgv: ['--import', WORKER_SETUP] })
    const { result, request } = await inRequest(() => compute.run(ot.work(21)))
    const call = one('spindle.call work')
    expect(call.parentSpanId).toBe(request.spanId)
    const inner = await workerSpan('task work')
    expect(inner).toMatchObject({ traceId: request.traceId, parentSpanId: call.spanId })
    // Inside the task: the call's traceparent, and the task's own span active after its await.
    expect(result).toEqual({ value: 42, traceparent: `00-${call.traceId}-${call.spanId}-01`, active: inner.spanId, own: inner.spanId })
  })

  // On SSH hosts the runtime finds no @opentelemetry/api: the call still runs, traceparent in hand.
  it.each(['thread', 'process', ...(runSshTests ? ['ssh' as const] : [])] as const)('traceparent() inside a task names its call\'s span (%s backend)', async (backend) => {
    const compute = await pools(backend === 'ssh' ? { backend } : { backend, workers: 1 })
    const seen = await compute.run(gather(plain.seenTraceparent(), plain.seenTraceparent()))
    const calls = named('spindle.call seenTraceparent')
    expect(calls).toHaveLength(2)
    expect([...seen].sort()).toEqual(calls.map((c) => `00-${c.traceId}-${c.spanId}-01`).sort())
    expect(calls.every((c) => c.attributes['spindle.task.module'] === PLAIN_TASKS && c.attributes['spindle.backend'] === backend)).toBe(true)
  })
})

describe('OpenTelemetry turned off', () => {
  it('with no tracer provider registered, nothing is recorded and calls, maps and pipelines give what they gave', async () => {
    const compute = await pools({ workers: 2 })
    const work = async () => {
      const p = new Pipeline('quiet')
      const a = p.step('a', t.add(1, 1))
      const b = p.step('b', t.multiply(a, 10))
      const run = await p.run({ executor: new ParallelExecutor({ backend: compute }), runLog: false })
      return {
        run: await compute.run(t.add(2, 3)),
        map: await parallelMap([1, 2, 3], t.echo, { compute, chunkSize: 2 }),
        pipeline: [run.status, run.output(b)],
        traceparent: await compute.run(plain.seenTraceparent()),
      }
    }
    const traced = await work()
    expect(finished().length).toBeGreaterThan(0) // the same work, traced
    exporter.reset()
    trace.disable()
    const quiet = await work()
    expect(finished()).toEqual([])
    expect(quiet).toEqual({ ...traced, traceparent: null })
    expect(traced.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect(traceparent()).toBeUndefined() // outside a task
  })

  it('without @opentelemetry/api installed, spindle imports and runs as it always did', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [new URL('../fixtures/otel-absent.mjs', import.meta.url).pathname], { timeout: 60_000 })
    expect(JSON.parse(stdout)).toEqual({ api: 'ERR_MODULE_NOT_FOUND', run: 5, map: [1, 2, 3], pipeline: ['succeeded', ['succeeded', 'succeeded']] })
  })
})
