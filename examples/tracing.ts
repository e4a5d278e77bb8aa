// Tracing with OpenTelemetry: once a tracer provider is registered, calls, parallelMap chunks
// and pipeline steps are spans. Here the SDK's in-memory exporter keeps them, printed as a tree.
import { trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { Compute, ParallelExecutor, parallelMap, Pipeline, remote } from 'spindle'

const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))

const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))
await using compute = await Compute.start({ workers: 2 })

await compute.run(t.processChunk([1, 2, 3]))                        // a span per call
const square = (x: number) => x * x
await parallelMap([1, 2, 3, 4], square, { compute, chunkSize: 2 })  // the map's span, a span per chunk
const p = new Pipeline('fit')
const sides = p.step('load', t.multiply(2, 3))
p.step('train', t.factorial(sides))
await p.run({ executor: new ParallelExecutor({ backend: compute }), runLog: false })  // the run, its steps, their calls

// The tree: children by start time (concurrent chunks by their first item).
const spans = exporter.getFinishedSpans()
const at = (s: ReadableSpan) => Number(s.attributes['spindle.chunk.start'] ?? s.startTime[0] * 1e9 + s.startTime[1])
function print(parent: string | undefined, depth: number): void {
  const children = spans.filter((s) => s.parentSpanContext?.spanId === parent).sort((a, b) => at(a) - at(b))
  for (const span of children) {
    const range = span.attributes['spindle.chunk.start'] === undefined ? '' : ` [${span.attributes['spindle.chunk.start']}, ${span.attributes['spindle.chunk.end']})`
    console.log(`${'  '.repeat(depth)}${span.name}${range}`)
    print(span.spanContext().spanId, depth + 1)
  }
}
print(undefined, 0)
