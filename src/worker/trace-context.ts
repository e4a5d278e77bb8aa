/**
 * Tracing on the node's side (the caller's side is observe/otel.ts). A traced call arrives with
 * the W3C traceparent of its span. The task can read it (`traceparent()`), and where
 * `@opentelemetry/api` can be imported here the task runs inside that span's context, so a span
 * the task starts is a child of the call's span. Recording it needs a provider (and, for a
 * context that follows `await`, a context manager) registered on this thread, as on any
 * thread: a setup module preloaded with `--import`, which workers inherit (`execArgv`).
 */
import type * as Otel from '@opentelemetry/api'
import { callOwners } from './context.js'

type Api = typeof Otel
/** undefined: not tried yet; null: cannot be imported here (tracing off on this node). */
let api: Api | null | undefined
let loading: Promise<void> | undefined

/** Before the first traced batch: a promise that the API is imported (or found missing); undefined once tried. */
export function tracingReady(): Promise<void> | undefined {
  if (api !== undefined) return undefined
  return (loading ??= import('@opentelemetry/api').then(
    (module: Api) => void (api = module),
    () => void (api = null),
  ))
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** Runs `fn(...args)` inside the span context `traceparent` names (as it is, without the API or for a malformed one). */
export function runInTrace(traceparent: string, fn: (...args: unknown[]) => unknown, args: unknown[]): unknown {
  const parsed = api ? TRACEPARENT.exec(traceparent) : null
  if (parsed === null || !api) return fn(...args)
  const parent = api.trace.setSpanContext(api.ROOT_CONTEXT, {
    traceId: parsed[1]!,
    spanId: parsed[2]!,
    traceFlags: Number.parseInt(parsed[3]!, 16),
    isRemote: true,
  })
  return api.context.with(parent, fn, undefined, ...args)
}

/**
 * Inside a task: the W3C `traceparent` of the span of the call running it, when the caller
 * traced it (OpenTelemetry with a tracer provider registered); else undefined. For passing on
 * by hand (an HTTP header, a child process) where no OpenTelemetry context manager does it.
 */
export function traceparent(): string | undefined {
  return callOwners.getStore()?.traceparent
}
