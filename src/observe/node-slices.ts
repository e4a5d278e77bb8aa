/**
 * Where calls sat on their nodes, from what the dispatcher saw: when each batch was sent, when
 * its answer arrived, and the node's own measure of its time (`ms`, for the whole batch). No
 * worker clock crosses the wire, so a batch's place is estimated; see `placeBatches`.
 */
import type { CallSpan, Recording } from './recording.js'

/** One slice of a node's time: a call (or a share of its batch) between start and end. */
export interface NodeSlice {
  readonly node: number
  readonly name: string
  readonly kind: 'step' | 'chunk' | 'call'
  /** The step it was for, when known (a chunk inherits its submitting call's). */
  readonly step: string | undefined
  /** Queued at, sent to the node at `sent`, then on the node from `start` to `end`. */
  readonly queued: number
  readonly sent: number
  readonly start: number
  readonly end: number
  readonly status: 'succeeded' | 'failed' | 'interrupted' | 'running'
  readonly seq: number
  readonly batch: number
  readonly error: string | undefined
}

/** One batch on one node: its calls share when it was sent, when it was answered, and `ms`. */
interface Batch {
  readonly node: number
  readonly sent: number
  readonly answered: number | undefined
  readonly ms: number | undefined
  /** A call of it waited on calls it submitted itself (a task's own parallelMap). */
  readonly parent: boolean
  start: number
  end: number
}

export function nodeSlices(recording: Recording, origin: number): NodeSlice[] {
  const bySeq = new Map(recording.calls.map((c) => [c.seq, c]))
  const parents = new Set(recording.calls.flatMap((c) => (c.parent === undefined ? [] : [c.parent])))
  const stepOf = (call: CallSpan | undefined): string | undefined => {
    for (let c = call; c !== undefined; c = c.parent === undefined ? undefined : bySeq.get(c.parent)) {
      if (c.label !== undefined) return c.label
    }
    return undefined
  }
  // Calls of one batch were sent at the same instant to the same node.
  const batches = new Map<string, Batch>()
  for (const call of recording.calls) {
    for (const run of call.runs) {
      const key = `${run.node}:${run.sentAt}`
      const known = batches.get(key)
      const ended = run.endedAt ?? call.settledAt
      const answered = ended === undefined ? undefined : ended - origin
      const sent = run.sentAt - origin
      // Its calls may have settled a moment apart when it had no answer (a lost node): the last counts.
      const last = known?.answered === undefined ? answered : answered === undefined ? known.answered : Math.max(known.answered, answered)
      batches.set(key, {
        node: run.node,
        sent,
        answered: last,
        ms: known?.ms ?? run.ms,
        parent: known?.parent === true || parents.has(call.seq),
        start: sent,
        end: last ?? sent,
      })
    }
  }
  placeBatches([...batches.values()])

  const slices: NodeSlice[] = []
  for (const call of recording.calls) {
    const step = stepOf(call)
    const kind = call.chunk !== undefined ? 'chunk' : call.label !== undefined ? 'step' : 'call'
    const name = call.chunk !== undefined ? `chunk ${call.chunk[0]}..${call.chunk[1]}` : (call.label ?? call.task)
    call.runs.forEach((run, i) => {
      const batch = batches.get(`${run.node}:${run.sentAt}`)!
      // The node runs a batch's calls in order: each gets its share of the batch's time.
      const share = (batch.end - batch.start) / run.batch
      const lastRun = i === call.runs.length - 1
      slices.push({
        node: run.node,
        name,
        kind,
        step,
        queued: (i === 0 ? call.queuedAt : (call.runs[i - 1]!.endedAt ?? run.sentAt)) - origin,
        sent: run.sentAt - origin,
        start: batch.start + share * run.index,
        end: batch.start + share * (run.index + 1),
        status: run.interrupted ? 'interrupted' : !lastRun || call.status === 'succeeded' ? 'succeeded' : call.status === 'failed' ? 'failed' : 'running',
        seq: call.seq,
        batch: run.batch,
        error: lastRun ? call.error : undefined,
      })
    })
  }
  return slices.sort((a, b) => a.start - b.start || b.end - a.end)
}

/**
 * A batch ran for `ms` and ended no later than its answer arrived, but an answer can arrive
 * late (the main thread was busy, or the worker answered two batches together), which would
 * draw a thread's sequential work as overlapping. So each node's batches are placed backwards
 * from the last answer: a batch ends at its answer or when the next one began, whichever is
 * earlier, as one thread running one batch after another would. Where that would start a batch
 * before it was even sent, the node was not running them one after another (async tasks
 * interleaving, several threads behind one node): that batch is placed by its own answer.
 * A batch whose task waited on its own fan-out is placed by its answer too, and does not push
 * the fan-out's chunks before it: they ran inside it. Unanswered batches (lost, stopped) span
 * from sent to settled.
 */
function placeBatches(batches: readonly Batch[]): void {
  const byNode = new Map<number, Batch[]>()
  for (const b of batches) if (b.ms !== undefined && b.answered !== undefined) (byNode.get(b.node) ?? byNode.set(b.node, []).get(b.node)!).push(b)
  for (const list of byNode.values()) {
    list.sort((a, b) => b.answered! - a.answered!)
    let nextStart = Number.POSITIVE_INFINITY
    for (const b of list) {
      const ms = b.ms!
      const answered = b.answered!
      const end = Math.min(answered, nextStart)
      if (!b.parent && end - ms >= b.sent) {
        b.start = end - ms
        b.end = end
        nextStart = b.start
        continue
      }
      b.start = Math.max(b.sent, answered - ms)
      b.end = answered
    }
  }
}

/**
 * Packs a node's slices into lanes where slices either follow each other or nest (a task waiting
 * on its own parallelMap holds its slice open while the chunks run): what a trace viewer's
 * thread track and a Gantt row can show without overlap. Slices come sorted by start.
 */
export function packLanes<T extends { readonly start: number; readonly end: number }>(slices: readonly T[]): T[][] {
  const lanes: Array<{ items: T[]; open: T[] }> = []
  for (const slice of slices) {
    const lane = lanes.find(({ open }) => {
      while (open.length > 0 && open.at(-1)!.end <= slice.start) open.pop()
      return open.length === 0 || open.at(-1)!.end >= slice.end
    })
    const target = lane ?? lanes[lanes.push({ items: [], open: [] }) - 1]!
    target.items.push(slice)
    target.open.push(slice)
  }
  return lanes.map((l) => l.items)
}
