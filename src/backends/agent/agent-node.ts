/**
 * The caller's side of a node whose batches run on a node agent (agent-host.ts), written once
 * for every transport that reaches one: a child process's IPC channel (process/process-node.ts),
 * an SSH connection's frames (ssh/ssh-node.ts). Here: the batches in flight (agent-replies.ts),
 * what each message of the agent means, where the lines its tasks print go, the answers to calls
 * its tasks submit, and a batch's control as a message. A node adds only what its link is: how
 * it is made, sent on, held open, lost and made again (a respawn, a reconnection).
 */
import { NodeFailure, type BackendNode, type BatchControl, type NestedHandler, type NodeLifecycle, type OutputHandler, type PartialHandler } from '../backend.js'
import type { BatchRequest, BatchResponse, FromAgent, ToAgent } from '../../protocol/messages.js'
import { AgentBatches, answerNested, failureOf, type InFlight } from './agent-replies.js'

/** `Link`: what carries one agent's messages (a ChildProcess, a Connection); a new one per agent. */
export abstract class AgentNode<Link> implements BackendNode {
  readonly slots: number
  generation = 0
  protected readonly inFlight: AgentBatches
  protected nestedHandler: NestedHandler | undefined
  protected outputHandler: OutputHandler | undefined
  protected partialHandler: PartialHandler | undefined
  protected lifecycle: ((event: NodeLifecycle) => void) | undefined
  protected closed = false

  /** `noun`: what the node is called in the prefix of lines printed before the dispatcher serves output (`process`, `host`). */
  constructor(
    readonly index: number,
    threads: number,
    private readonly noun: string,
  ) {
    // Two batches per thread: the next one waits in the agent while the current one runs.
    this.slots = threads * 2
    this.inFlight = new AgentBatches(threads)
  }

  abstract describe(): string
  abstract execute(batch: BatchRequest, done: (response: BatchResponse) => void, failed: (failure: NodeFailure) => void): BatchControl
  abstract close(): Promise<void>

  /** The link to the current agent; undefined between two. */
  protected abstract get link(): Link | undefined
  /** Sends on `link`; a link that has closed drops the message (its loss settles what is in flight). */
  protected abstract sendOn(link: Link, message: ToAgent): void
  /** Keeps the program alive while batches are out on `link` (`busy`), or lets it go. */
  protected abstract hold(link: Link, busy: boolean): void

  serveNested(handler: NestedHandler): void {
    this.nestedHandler = handler
  }

  serveOutput(handler: OutputHandler): void {
    this.outputHandler = handler
  }

  servePartial(handler: PartialHandler): void {
    this.partialHandler = handler
  }

  serveLifecycle(handler: (event: NodeLifecycle) => void): void {
    this.lifecycle = handler
  }

  /** Sends `batch` on `link` and records it in flight; its control is a message the agent answers. */
  protected dispatch(link: Link, batch: BatchRequest, done: InFlight['done'], failed: InFlight['failed']): BatchControl {
    this.sendOn(link, batch) // first: a value serialization refuses throws here, with nothing recorded
    this.inFlight.add(batch[1], done, failed)
    this.hold(link, true)
    // The agent answers a batch taken back as a 'revoked' failure; otherwise the batch runs on.
    return (how) => this.sendOn(link, how === 'stop' ? { stop: batch[1] } : { revoke: batch[1] })
  }

  /** A message from the agent at the other end of `link` (maybe an agent already replaced). */
  protected receive(link: Link, message: FromAgent): void {
    if ('done' in message) return this.settle(message.done[2])?.done(message.done)
    if ('failed' in message) return this.settle(message.failed)?.failed(failureOf(message.failure))
    // Only the current agent's word counts: a batch counts as started only once it says so.
    if ('started' in message) return link === this.link ? this.inFlight.started(message.started) : undefined
    if ('partial' in message) return this.partialHandler?.(message.partial[0], message.partial[1])
    if ('submit' in message) return answerNested(this.nestedHandler, message, (reply) => this.sendOn(link, reply))
    if ('output' in message) return this.output(...message.output)
    if (link === this.link) this.lifecycle?.({ type: 'ready', pid: message.pid })
  }

  /** A line a task printed, with the call that printed it (the dispatcher names its step). */
  protected output(seq: number, stream: 1 | 2, text: string): void {
    if (this.outputHandler !== undefined) return this.outputHandler(seq, stream, text)
    ;(stream === 1 ? process.stdout : process.stderr).write(`[${this.noun} ${this.index}] ${text}\n`)
  }

  /** The agent answered batch `id` (or it was never sent: `answered` false): out of the flight. */
  protected settle(id: number, answered = true): InFlight | undefined {
    const entry = this.inFlight.settle(id, answered)
    const link = this.link
    if (this.inFlight.size === 0 && link !== undefined) this.hold(link, false)
    return entry
  }

  /** The agent is gone: each batch it had, with what it gets (`failure`, or free; aborted once the node is closing). */
  protected takeLost(failure: NodeFailure): Array<[InFlight, NodeFailure]> {
    return this.inFlight.lost(failure).map(([entry, why]) => [entry, this.closed ? new NodeFailure('aborted', 'closed') : why])
  }
}
