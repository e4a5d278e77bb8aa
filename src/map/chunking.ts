/**
 * 'auto' chunking: how many items per call, and whether workers can pay off at all.
 *
 * A chunk should take ~2 ms on a node, so the ~30 µs a round trip costs stays small beside it.
 * Near the end of a known-length input, chunks shrink (guided self-scheduling: a fraction of
 * what is left per worker) so that no worker idles while another finishes a long chunk.
 * Costs are measured by the workers (a chunk's `ms`). Where the user lets the calling thread run
 * items (`callerRuns`), it keeps those too cheap for workers to pay for themselves: the work they
 * take off this thread must outweigh what this thread spends sending items and receiving results.
 */
const TARGET_CHUNK_MS = 2
const ROUND_TRIP_MS = 0.03
const MAX_CHUNK = 65_536
/** Below this estimated speedup, the calling thread does the work itself. */
const MIN_SPEEDUP = 1.15

export interface CostEstimate {
  /** Time to run the function on one item, measured on the calling thread. */
  readonly msPerItem: number
  /** Time this thread spends sending one item and receiving its result. */
  readonly transferMsPerItem: number
}

/** Items per chunk for ~2 ms of work. Items of a typed array cost nothing to send: no cap. */
export function chunkSizeFor(msPerItem: number, shared = false): number {
  const max = shared ? Number.MAX_SAFE_INTEGER : MAX_CHUNK
  if (!(msPerItem > 0)) return max
  return Math.max(1, Math.min(max, Math.ceil(TARGET_CHUNK_MS / msPerItem)))
}

/** The speedup `workers` nodes would bring over this thread alone, by the cost model above. */
export function estimatedSpeedup(cost: CostEstimate, workers: number): number {
  const perItem = cost.msPerItem / workers + cost.transferMsPerItem + ROUND_TRIP_MS / chunkSizeFor(cost.msPerItem)
  return perItem > 0 ? cost.msPerItem / perItem : 1
}

export function runsLocally(cost: CostEstimate, workers: number): boolean {
  return estimatedSpeedup(cost, workers) < MIN_SPEEDUP
}

/**
 * With a known length, no more than ~8 chunks per worker to begin with: each costs a round trip,
 * and the guided shrinking near the end (below) keeps the workers finishing together anyway.
 */
export function fewestChunks(total: number | undefined, workers: number): number {
  return total === undefined ? 1 : Math.ceil(total / (workers * 8))
}

/**
 * The next chunk's size: the base size, shrunk near the end of a known-length input (a fraction
 * of what is left per worker, so the workers finish together), but never below `floor`: ~2 ms
 * of work when the cost is known (a round trip stays small beside it), else an eighth of the base.
 */
export function nextChunkSize(base: number, remaining: number | undefined, workers: number, floor = Math.ceil(base / 8)): number {
  if (remaining === undefined) return base
  const guided = Math.ceil(remaining / (workers * 2))
  return Math.max(1, Math.min(base, floor), Math.min(base, guided))
}

/**
 * A typed array is not cloned per element, but a map on the workers still costs per element
 * (staging the input in shared memory, faulting in the output's pages: 4 KiB per fault, and the
 * workers' block loop compiling) about TYPED_ELEMENT_MS, plus waking them. Where the user allows
 * it, the calling thread keeps `count` elements that `workers` would not beat by MIN_SPEEDUP
 * (on a 2-core VM: elements of under ~25 ns).
 */
const TYPED_ELEMENT_MS = 0.00001
const TYPED_WAKE_MS = 1

export function typedRunsLocally(msPerItem: number, count: number, workers: number): boolean {
  const work = msPerItem * count
  return work / (work / workers + count * TYPED_ELEMENT_MS + TYPED_WAKE_MS) < MIN_SPEEDUP
}
