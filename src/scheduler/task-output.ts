/**
 * Lines that tasks print, written with what printed them: `[featA · thread 1] fitting...`.
 * Nodes send whole lines tagged with the printing call's sequence number (worker/output.ts), so
 * no two lines are ever interleaved mid-line; here the number becomes what the call is for: its
 * label (a pipeline step's name, `perChunk[3]` for a map item), or its parent's label for a call
 * a task submitted (parallelMap inside a step). Output the caller cannot tie to a running call
 * (a module's top level, a timer left by a finished call) is prefixed with the node alone.
 */
import type { BackendNode } from '../backends/backend.js'
import type { Call, RunningBatch } from './call.js'
import { printable } from '../printable.js'

export function writeTaskOutput(
  running: ReadonlySet<RunningBatch>,
  kind: string,
  node: BackendNode,
  seq: number,
  stream: 1 | 2,
  text: string,
): void {
  const label = seq === 0 ? undefined : labelOf(running, node, seq)
  const where = `${kind === 'ssh' ? 'host' : kind} ${node.index}`
  const line = `[${label === undefined ? where : `${printable(label)} · ${where}`}] ${text}\n`
  const out = stream === 1 ? process.stdout : process.stderr
  // On a terminal, clear the line first: a live progress line may be drawn there (it redraws).
  out.write(out.isTTY ? `\r\x1b[2K${line}` : line)
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
