/**
 * What travels between the caller and a node agent process, over its IPC channel (advanced
 * serialization): the same batch arrays as on a thread, plus the agent's side of a batch's fate.
 */
import type { BatchRequest, BatchResponse, NestedReply, NestedSubmit, OutputLine, PartialResult } from '../../protocol/messages.js'
import type { InstanceInfo } from '../../worker/context.js'
import type { CrashReport } from '../../worker/crash-slot.js'
import type { EncodedThrown } from '../../protocol/error-codec.js'
import type { Rescue } from '../../worker/chunk-exits.js'

/** How the caller configures an agent (its first argument, as JSON). */
export interface AgentConfig {
  /** The agent's node: its threads report this `node`, with `worker` their own index. */
  readonly info: Omit<InstanceInfo, 'worker'>
  readonly resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number }
}

/**
 * Caller → agent: a batch; `stop` (end batch N now) or `revoke` (take it back if it has not
 * started: then it fails as `'revoked'`, and otherwise runs on), the batch's BatchControl; a reply.
 */
export type ToAgent = BatchRequest | { readonly stop: number } | { readonly revoke: number } | NestedReply

/** A batch's NodeFailure, flattened to travel. */
export interface FailureData {
  readonly reason: 'crash' | 'aborted' | 'revoked'
  readonly message: string
  readonly exitCode: number | null | undefined
  readonly crash: CrashReport | undefined
  readonly interrupted: boolean
  readonly cause: EncodedThrown | undefined
  /** The worker exited under an item of a map chunk, the crash's owner: what it left (agent-rescue.ts). */
  readonly rescue: Rescue | undefined
}

/**
 * Agent → caller. `started`: batches whose calls began on its threads (several together, and
 * none whose answer went first); a batch of a lost agent that was never said to have begun goes
 * back to the queue free (agent-replies.ts). `partial`: results sent ahead by a running call.
 */
export type FromAgent =
  | { readonly ready: true; readonly pid: number }
  | { readonly started: readonly number[] }
  | { readonly done: BatchResponse }
  | { readonly failed: number; readonly failure: FailureData }
  | NestedSubmit
  | OutputLine
  | PartialResult
