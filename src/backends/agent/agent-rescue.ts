/**
 * The node agent's part in the rescue of a map chunk whose worker exits under one of its items
 * (worker/chunk-exits.ts). The caller shares no memory with the agent's threads, but the agent
 * does: a chunk call that asks for a rescue (`rescue: true` among its items) gets a buffer here
 * before it goes to a thread, and when that thread exits under the chunk, what the worker left
 * in it (the item running, the results before it) goes to the caller with the batch's failure
 * (FailureData), where the chunk's WorkerExitError carries it to the map (map/chunk-call.ts).
 */
import { CALL_FIELDS, REQUEST_HEADER, type BatchRequest, type TaskDefinition } from '../../protocol/messages.js'
import { createRescue, readRescue, type Rescue } from '../../worker/chunk-exits.js'

/** The map's chunk task, as its definition names it (on an SSH host, by the module's path there). */
const CHUNK_FILE = '/map-chunk.js'
const CHUNK_NAME = 'mapChunk'
/** Where the chunk sits among the arguments of mapChunk(spec, chunk, start, context, stopOnError). */
const CHUNK_ARG = 1

/** A chunk's items, as much of them as the agent reads (map/worker/map-chunk-types.ts). */
interface Chunk {
  readonly kind: 'array' | 'shared'
  rescue?: SharedArrayBuffer | true
}

export class AgentRescues {
  /** Ids of the task definitions that are the chunk task (one per caller module URL, in practice one). */
  private readonly chunkTasks = new Set<number>()
  /** The chunks of batches out on a thread that have a rescue buffer, by call seq. */
  private readonly chunks = new Map<number, Chunk>()

  /** A task definition arrived: notes it if it is the chunk task. */
  define(definition: TaskDefinition): void {
    if (definition[2] === CHUNK_NAME && definition[1].endsWith(CHUNK_FILE)) this.chunkTasks.add(definition[0])
  }

  /** Before `batch` goes to a thread: each of its chunks that asks for a rescue gets its buffer (kept if it is moved to another thread). */
  arm(batch: BatchRequest): void {
    if (this.chunkTasks.size === 0) return
    for (let at = REQUEST_HEADER; at < batch.length; at += CALL_FIELDS) {
      if (!this.chunkTasks.has(batch[at + 1] as number)) continue
      const chunk = (batch[at + 2] as unknown[])[CHUNK_ARG] as Chunk | undefined
      if (chunk?.rescue === undefined || (chunk.kind !== 'array' && chunk.kind !== 'shared')) continue
      if (chunk.rescue === true) chunk.rescue = createRescue()
      this.chunks.set(batch[at] as number, chunk)
    }
  }

  /**
   * `batch` has ended (answered, or failed for good): its buffers are dropped. `owner`, for a
   * worker's crash, is the call whose code ran: what its chunk's worker left, if it is one.
   */
  ended(batch: BatchRequest, owner?: number): Rescue | undefined {
    if (this.chunks.size === 0) return undefined
    let rescue: Rescue | undefined
    for (let at = REQUEST_HEADER; at < batch.length; at += CALL_FIELDS) {
      const seq = batch[at] as number
      const chunk = this.chunks.get(seq)
      if (chunk === undefined) continue
      this.chunks.delete(seq)
      if (seq === owner && chunk.rescue instanceof SharedArrayBuffer) rescue = readRescue(chunk.rescue)
    }
    return rescue
  }
}
