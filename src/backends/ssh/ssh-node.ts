/**
 * A node of the SSH backend: one host, running one node agent with `workersPerNode` threads
 * over one SSH connection. Batches travel as frames; the task modules a batch needs are shipped
 * to the host (content-addressed) just before the first batch that uses them. When the
 * connection is lost, what the agent had started fails as *interrupted* and what it had not goes
 * back to the queue free (agent/agent-replies.ts; the dispatcher runs them again on the other hosts),
 * and the node is taken out of the rotation: for good, or until a reconnection with backoff
 * succeeds (`ssh.reconnect`).
 */
import { AgentNode } from '../agent/agent-node.js'
import { NodeFailure, type BatchControl, type NodeLifecycle, type NodeState } from '../backend.js'
import { SshError } from '../../errors.js'
import { type BatchRequest, type BatchResponse, type FromAgent, type ToAgent } from '../../protocol/messages.js'
import { Connection, type ConnectionSetup } from './connection.js'
import { shipModules } from '../agent/module-frames.js'

export class SshNode extends AgentNode<Connection> {
  state: NodeState = 'ready'
  lostBecause: Error | undefined
  private connection: Connection | undefined
  /** Task modules this connection's agent has been sent, by the caller's URL. */
  private shipped = new Set<string>()
  private listener: (() => void) | undefined
  private retry: NodeJS.Timeout | undefined

  constructor(
    index: number,
    private readonly setup: Omit<ConnectionSetup, 'receive' | 'lost'>,
    workersPerNode: number,
  ) {
    super(index, workersPerNode, 'host')
  }

  /** Connects; rejects with the SshError that says why the host cannot be used. */
  async open(): Promise<void> {
    this.connection = await Connection.open(this.connectionSetup())
  }

  describe(): string {
    const pid = this.connection?.pid
    return `host ${this.index} (${this.setup.host.name}${pid ? `, agent pid ${pid}` : ''})`
  }

  get peer(): string {
    return this.setup.host.name
  }

  watch(listener: () => void): void {
    this.listener = listener
  }

  /** Connected at start already: ready at once. */
  override serveLifecycle(handler: (event: NodeLifecycle) => void): void {
    super.serveLifecycle(handler)
    if (this.connection !== undefined) handler({ type: 'ready', pid: this.connection.pid, host: this.setup.host.name })
  }

  execute(batch: BatchRequest, done: (response: BatchResponse) => void, failed: (failure: NodeFailure) => void): BatchControl {
    const connection = this.connection
    if (connection === undefined) {
      failed(new NodeFailure('crash', `${this.describe()} is not connected`, { interrupted: true }))
      return () => {}
    }
    if (!shipModules(batch, this.shipped, (frame) => connection.send(frame), done)) return () => {}
    return this.dispatch(connection, batch, done, failed)
  }

  /** Ends the agent; batches still running fail as aborted (the dispatcher rejects their calls as closed). */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    await this.connection?.close()
    const aborted = new NodeFailure('aborted', `${this.describe()} was closed`)
    for (const [entry] of this.inFlight.lost(aborted)) entry.failed(aborted)
  }

  private connectionSetup(): ConnectionSetup {
    return {
      ...this.setup,
      receive: (message, from) => this.receive(from, message),
      lost: (reason, tail, from) => this.drop(from, reason, tail),
    }
  }

  protected get link(): Connection | undefined {
    return this.connection
  }

  protected sendOn(connection: Connection, message: ToAgent): void {
    connection.send(message)
  }

  protected hold(connection: Connection, busy: boolean): void {
    connection.hold(busy)
  }

  /** Only the current connection's agent is heard: a replaced one's batches were settled when it was lost. */
  protected override receive(connection: Connection, message: FromAgent): void {
    if (connection === this.connection) super.receive(connection, message)
  }

  /** The connection is gone: out of the rotation first, then what it ran is interrupted (and runs elsewhere). */
  private drop(connection: Connection, reason: string, tail: string): void {
    if (connection !== this.connection) return
    const where = this.describe()
    const pid = connection.pid
    this.connection = undefined
    this.generation++
    this.shipped = new Set()
    const attempts = this.setup.options.reconnect.attempts
    this.setState(this.closed ? 'closed' : attempts > 0 ? 'starting' : 'lost', reason, pid)
    const failure = new NodeFailure('crash', `${where} was lost: ${reason}${tail === '' ? '' : `; last stderr lines:\n${tail}`}`, {
      stderrTail: tail,
      interrupted: true,
    })
    for (const [entry, why] of this.takeLost(failure)) entry.failed(why)
    if (this.state === 'starting') this.reconnect(1, reason)
  }

  /** Tries again after `delay`, 2×, 4×, ...; the host is gone for good after the last attempt. */
  private reconnect(attempt: number, reason: string): void {
    const { attempts, delay } = this.setup.options.reconnect
    this.retry = setTimeout(() => {
      Connection.open(this.connectionSetup()).then(
        (connection) => {
          if (this.closed) return void connection.close()
          this.connection = connection
          this.setState('ready', reason, connection.pid)
        },
        (error: unknown) => {
          if (this.closed) return
          if (attempt < attempts) return this.reconnect(attempt + 1, (error as Error).message)
          this.setState('lost', `${reason}; ${attempts} reconnection attempts failed, the last: ${(error as Error).message}`)
        },
      )
    }, delay * 2 ** (attempt - 1))
  }

  /** A new state, with its node event (`pid`: the agent's, that was lost or is now up): `starting` while it reconnects. */
  private setState(state: NodeState, reason: string, pid?: number): void {
    this.state = state
    const host = this.setup.host.name
    const lost = state === 'ready' ? undefined : new SshError('ERR_SPINDLE_SSH_LOST', `SSH host ${host} (node ${this.index}) was lost: ${reason}.`, host)
    if (state !== 'starting') this.lostBecause = lost
    this.listener?.()
    if (this.closed) return
    if (lost === undefined) this.lifecycle?.({ type: 'ready', pid, host })
    else this.lifecycle?.({ type: 'lost', reason: 'connection', cause: lost, next: state === 'starting' ? 'reconnect' : 'none', pid, host })
  }
}
