// Recording a pipeline run: a Chrome trace (open it in Perfetto or chrome://tracing) and a
// self-contained HTML report (graph, timeline, steps, errors; nothing fetched).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecorder, ParallelExecutor, Pipeline, remote, type TraceEvent } from 'spindle'

const t = remote<typeof import('./pipeline-tasks.js')>(new URL('./pipeline-tasks.ts', import.meta.url))

const p = new Pipeline('fit')
const raw = p.step('load', t.load(20_000))
const a = p.step('featA', t.featureA(raw))
const b = p.step('featB', t.featureB(raw))
p.step('train', t.train(a, b))

const executor = new ParallelExecutor({ maxWorkers: 2 })
const recorder = createRecorder(p, executor) // before the run: it watches the pool the run opens
const run = await p.run({ executor, onEvent: recorder.onEvent, runLog: false })

const dir = mkdtempSync(join(tmpdir(), 'spindle-report-'))
await recorder.writeTrace(join(dir, 'trace.json'))
await recorder.writeReport(join(dir, 'report.html'), run)

const trace: { traceEvents: TraceEvent[] } = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'))
const attempts = trace.traceEvents.filter((e) => e.ph === 'b' && / #\d+$/.test(e.name)).map((e) => e.name)
const onNodes = trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'step').length
console.log(`Run ${run.status}`)
console.log(`trace.json: attempts ${attempts.sort().join(', ')}; ${onNodes} calls on node tracks`)
const html = readFileSync(join(dir, 'report.html'), 'utf8')
console.log(`report.html: ${run.steps.length} steps, fetches nothing: ${!/\b(src|href)=|https?:\/\//.test(html)}`)
rmSync(dir, { recursive: true })
