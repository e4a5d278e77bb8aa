/**
 * Lines that tasks print, written with what printed them: `[featA · thread 1] fitting...`.
 * Nodes send whole lines tagged with the printing call's sequence number (worker/output.ts), so
 * no two lines are ever interleaved mid-line; here the number becomes what the call is for: its
 * label (a pipeline step's name, `perChunk[3]` for a map item), or its parent's label for a call
 * a task submitted (parallelMap inside a step). Output the caller cannot tie to a running call
 * (a module's top level, a timer left by a finished call) is prefixed with the node alone.
 * The lines go to the streams the pool was given (`Compute.start({ output })`), never to the
 * process's own from here.
 */
import type { Backend, BackendNode, OutputHandler } from '../backends/backend.js'
import type { Call, RunningBatch } from './call.js'
import { printable } from '../printable.js'

/** A stream for what tasks print: a Writable, or anything with `write`. */
export interface OutputStream {
  write(text: string): unknown
  /** On a terminal each line first clears the line under the cursor, where a live progress line may be drawn. */
  readonly isTTY?: boolean
}

/** Where the lines tasks print go: what they print to stdout, and to stderr. */
export interface OutputSink {
  readonly stdout: OutputStream
  readonly stderr: OutputStream
}

/** Where `node` sends the lines its tasks print: to `sink`, each named after its call (among `running`) and the node (`thread 1`, `host 0`). */
export function taskOutput(sink: OutputSink, running: ReadonlySet<RunningBatch>, backend: Backend, node: BackendNode): OutputHandler {
  const where = `${backend.nodeNoun ?? backend.kind} ${node.index}`
  return (seq, stream, text) => {
    const label = seq === 0 ? undefined : labelOf(running, node, seq)
    const line = `[${label === undefined ? where : `${printable(label)} · ${where}`}] ${text}\n`
    const out = stream === 1 ? sink.stdout : sink.stderr
    out.write(out.isTTY ? `\r\x1b[2K${line}` : line)
  }
}

function labelOf(running: ReadonlySet<RunningBatch>, node: BackendNode | undefined, seq: number): string | undefined {
  const call = runningCall(running, node, seq)
  if (call === undefined) return undefined
  if (call.options.label !== undefined) return call.options.label
  // A call a task submitted: named after the call that submitted it (on whichever node).
  return call.options.parent === undefined ? undefined : labelOf(running, undefined, call.options.parent)
}

/** The call numbered `seq` in a batch running on `node` (on any node if undefined). */
export function runningCall(running: ReadonlySet<RunningBatch>, node: BackendNode | undefined, seq: number): Call | undefined {
  for (const batch of running) {
    if (node !== undefined && batch.node !== node) continue
    for (const call of batch.calls) if (call.seq === seq) return call
  }
  return undefined
}
