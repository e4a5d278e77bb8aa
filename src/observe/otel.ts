/**
 * Optional OpenTelemetry, on the caller's side. Where `@opentelemetry/api` can be imported and a
 * tracer provider is registered, calls, parallelMap runs and their chunks, pipeline runs and
 * their steps become spans, and a call's span travels to its worker as a W3C `traceparent` in
 * the batch (worker/trace-context.ts runs the task inside it). The API is an optional peer
 * dependency: imported once, lazily (Compute.start and pipeline runs wait for it), and absent or
 * with no provider registered, an entry point pays one check (`TraceParent.active()`) and every
 * call one field that stays undefined.
 *
 * Nothing here names the API's types in what it exports, so spindle's declarations never import
 * a package the user may not have.
 */
import type * as Otel from '@opentelemetry/api'
import type { CallOptions, CallSink } from '../task/call-sink.js'
import type { TaskRef } from '../task/pending.js'

type Api = typeof Otel
let api: Api | undefined
let loading: Promise<void> | undefined
/** The API's no-op provider: what a proxy provider delegates to while none is registered. */
let noop: Otel.TracerProvider | undefined
/** What `trace.getTracerProvider()` gave at the last full check, when it was the API's proxy. */
let proxy: Otel.ProxyTracerProvider | undefined
let tracerOf: Otel.TracerProvider | undefined
let tracer: Otel.Tracer | undefined

/** Imports `@opentelemetry/api` once; where it cannot be imported, tracing stays off. Never rejects. */
export function loadTracing(): Promise<void> {
  return (loading ??= import('@opentelemetry/api').then(
    (module: Api) => {
      api = module
      noop = new module.ProxyTracerProvider().getDelegate()
    },
    () => {}, // not installed (an optional peer dependency): nothing is traced
  ))
}

/** Attribute values as spans take them; undefined ones are left out. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>

/** Where a call ran, to name it on its span. */
export interface CallTarget {
  readonly task: Pick<TaskRef, 'name'> & Partial<Pick<TaskRef, 'module'>>
  readonly backend: string
}

/** A context spindle's spans start in: the caller's active one, or one of spindle's own spans. */
export class TraceParent {
  private constructor(
    private readonly tracer: Otel.Tracer,
    private readonly context: Otel.Context,
  ) {}

  /**
   * The caller's active context, when the API is loaded and a provider is registered; else
   * undefined (tracing off). The one check an entry point makes.
   */
  static active(): TraceParent | undefined {
    if (api === undefined) return undefined
    const current = currentTracer(api)
    return current === undefined ? undefined : new TraceParent(current, api.context.active())
  }

  /** A span of spindle's own under this context (a map, a pipeline run, a step); its children start in `span.parent`. */
  span(name: string, attributes: SpanAttributes): TraceSpan {
    const span = this.tracer.startSpan(name, undefined, this.context)
    if (span.isRecording()) span.setAttributes(defined(attributes))
    return new OwnSpan(span, new TraceParent(this.tracer, api!.trace.setSpan(this.context, span)))
  }

  /**
   * One call under a span of its own: its `traceparent` goes to the worker with the call, the
   * node and attempt are set as it is dispatched, and it ends as the call settles (a failure
   * recorded, status ERROR). `submit` sends the call with the options given to it.
   */
  call(name: string, target: CallTarget, extra: SpanAttributes | undefined, options: CallOptions, submit: (options: CallOptions) => Promise<unknown>): Promise<unknown> {
    const span = this.tracer.startSpan(name, undefined, this.context)
    const recording = span.isRecording()
    if (recording) {
      span.setAttributes(defined({ 'spindle.task.name': target.task.name, 'spindle.task.module': target.task.module, 'spindle.backend': target.backend }))
      if (extra !== undefined) span.setAttributes(defined(extra))
    }
    const { onDispatch } = options
    const traced: CallOptions = {
      ...options,
      traceparent: traceparentOf(span.spanContext()),
      onDispatch: (node, attempt) => {
        if (recording) span.setAttributes({ 'spindle.node': node, 'spindle.attempt': attempt })
        onDispatch?.(node, attempt)
      },
    }
    return submit(traced).then(
      (value) => (span.end(), value),
      (error: unknown) => {
        failed(span, error)
        span.end()
        throw error
      },
    )
  }

  /**
   * A pool whose calls are spans under this context (parallelMap's chunks): a mapChunk call is
   * named after the map's function with its items' range, other calls after their task.
   */
  sink(pool: CallSink, target: CallTarget): CallSink {
    const submit = (task: TaskRef, args: readonly unknown[], options: CallOptions) => {
      const chunk = task.name === 'mapChunk' ? chunkRange(args) : undefined
      const kind = chunk !== undefined ? 'chunk' : task.name === 'mapBlocks' ? 'blocks' : task.name
      const extra = chunk && { 'spindle.chunk.start': chunk[0], 'spindle.chunk.end': chunk[1] }
      return this.call(`spindle.${kind} ${target.task.name}`, target, extra, options, (traced) => pool.submit(task, args, traced))
    }
    const { nodes, sharedMemory, offThread, partialResults } = pool
    return { nodes, sharedMemory, ...(offThread && { offThread }), ...(partialResults && { partialResults }), submit }
  }
}

/** One of spindle's own spans. */
export interface TraceSpan {
  /** Where its children start. */
  readonly parent: TraceParent
  set(attributes: SpanAttributes): void
  /** Ends it; with `error`, records it and sets status ERROR. */
  end(error?: unknown): void
}

class OwnSpan implements TraceSpan {
  constructor(
    private readonly span: Otel.Span,
    readonly parent: TraceParent,
  ) {}

  set(attributes: SpanAttributes): void {
    if (this.span.isRecording()) this.span.setAttributes(defined(attributes))
  }

  end(error?: unknown): void {
    if (error !== undefined) failed(this.span, error)
    this.span.end()
  }
}

/**
 * The registered provider's tracer, or undefined while none is registered (the no-op provider).
 * `trace.getTracerProvider()` reads the API's registry on globalThis (~40 ns, 5% of a no-op
 * compute.run() on the inline backend), so "none" is first asked of the provider it gave last time:
 * the API's proxy, which `setGlobalTracerProvider` registers and points at the new provider.
 * `trace.disable()` replaces the proxy; the old one still points somewhere, so the full check
 * runs and finds the new one.
 */
function currentTracer(otel: Api): Otel.Tracer | undefined {
  if (proxy !== undefined && proxy.getDelegate() === noop) return undefined
  const provider = otel.trace.getTracerProvider()
  proxy = provider instanceof otel.ProxyTracerProvider ? provider : undefined
  const delegate = proxy === undefined ? provider : proxy.getDelegate()
  if (delegate === noop) return undefined
  if (delegate !== tracerOf) {
    tracerOf = delegate
    tracer = delegate.getTracer('spindle')
  }
  return tracer
}

/** W3C trace context: version 00, trace id, parent (span) id, flags (01: sampled). */
function traceparentOf(context: Otel.SpanContext): string | undefined {
  if (!api!.isSpanContextValid(context)) return undefined
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1) === 1 ? '01' : '00'}`
}

function failed(span: Otel.Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  span.recordException(error instanceof Error ? error : message)
  span.setStatus({ code: api!.SpanStatusCode.ERROR, message })
}

function defined(attributes: SpanAttributes): Otel.Attributes {
  const out: Otel.Attributes = {}
  for (const key in attributes) if (attributes[key] !== undefined) out[key] = attributes[key]
  return out
}

/** mapChunk(spec, chunk, start, ...): the items the chunk covers, as [first index, end). */
function chunkRange(args: readonly unknown[]): [number, number] | undefined {
  const chunk = args[1] as { kind: 'array'; items: ArrayLike<unknown> } | { kind: 'shared'; end: number } | undefined
  const start = args[2]
  if (typeof start !== 'number' || chunk === undefined) return undefined
  return [start, chunk.kind === 'array' ? start + chunk.items.length : chunk.end]
}

/** What a step's span reads of its record (pipeline/types.ts's StepRecord; named structurally: this file sits below pipeline/). */
interface StepRecord {
  readonly name: string
  readonly kind: string
  readonly status: string
  readonly attempts: number
  readonly node?: number | undefined
  readonly reused?: string | undefined
  readonly error?: unknown
}

/** A pipeline step's span, started as the step starts (`name`: with its branch prefix). */
export function stepSpan(parent: TraceParent, record: Pick<StepRecord, 'name' | 'kind'>, pipeline: string): TraceSpan {
  return parent.span(`spindle.step ${record.name}`, { 'spindle.step.name': record.name, 'spindle.step.kind': record.kind, 'spindle.pipeline.name': pipeline })
}

/** Ends a step's span with how the step ended: an error (status ERROR) only for `failed`. */
export function endStepSpan(span: TraceSpan, record: StepRecord): void {
  span.set({ 'spindle.step.status': record.status, 'spindle.step.attempts': record.attempts, 'spindle.node': record.node, 'spindle.step.reused': record.reused })
  span.end(record.status === 'failed' ? record.error : undefined)
}

/** Ends a pipeline run's span: status ERROR, with the first failed step's error, for a failed run. */
export function endRunSpan(span: TraceSpan | undefined, backend: string, status: string, steps: readonly StepRecord[]): void {
  if (span === undefined) return
  span.set({ 'spindle.run.status': status, 'spindle.backend': backend })
  span.end(status === 'failed' ? (steps.find((s) => s.status === 'failed')?.error ?? new Error('the run failed')) : undefined)
}
