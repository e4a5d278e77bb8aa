/**
 * A node of the process backend: a node agent (agent-main.ts) in a child process, running
 * `workersPerNode` threads. Batches go over the IPC channel (advanced serialization: the same
 * arrays as on a thread); its output is forwarded line by line with a `[process N]` prefix. If
 * the agent dies, what it had started fails as interrupted, what it had not goes back to the
 * queue free (agent/agent-replies.ts), and a new agent starts; `close()`
 * sends SIGTERM, then SIGKILL after a grace period. The agent exits by itself when this process
 * goes away (its channel closes), so no orphan is left behind.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { AgentNode } from '../agent/agent-node.js'
import type { AgentConfig } from '../agent/agent-host.js'
import { NodeFailure, type BatchControl } from '../backend.js'
import type { BatchRequest, BatchResponse, FromAgent, ToAgent } from '../../protocol/messages.js'

const AGENT = new URL('./agent-main.js', import.meta.url)
const KILL_GRACE_MS = 2000

export class ProcessNode extends AgentNode<ChildProcess> {
  private child: ChildProcess | undefined
  private pid: number | undefined
  private stderrTail: string[] = []

  constructor(
    index: number,
    private readonly config: AgentConfig,
    private readonly execArgv: string[] | undefined,
  ) {
    super(index, config.info.workersPerNode, 'process')
    this.spawn()
  }

  describe(): string {
    return `process ${this.index}${this.pid === undefined ? '' : ` (pid ${this.pid})`}`
  }

  get peer(): string {
    return `process-${this.index}`
  }

  execute(batch: BatchRequest, done: (response: BatchResponse) => void, failed: (failure: NodeFailure) => void): BatchControl {
    const child = this.child ?? this.spawn()
    if (child === undefined) {
      failed(new NodeFailure('aborted', 'the node is closed'))
      return () => {}
    }
    return this.dispatch(child, batch, done, failed)
  }

  async close(): Promise<void> {
    this.closed = true
    const child = this.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  private spawn(): ChildProcess | undefined {
    if (this.closed) return undefined
    const child = fork(AGENT, [JSON.stringify(this.config)], {
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      ...(this.execArgv !== undefined && { execArgv: this.execArgv }),
    })
    this.child = child
    this.pid = child.pid
    this.stderrTail = []
    this.forward(child, 'stdout')
    this.forward(child, 'stderr')
    child.on('message', (message: FromAgent) => this.receive(child, message))
    child.once('exit', (code, signal) => this.lost(child, code, signal))
    child.on('error', () => {}) // a failed spawn also exits; 'exit' reports it
    // An idle pool never keeps the program alive: the child, its pipes and its channel are
    // unref'd, and ref'd only while a batch is out (hold).
    holdOpen(child, false)
    for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.()
    return child
  }

  protected get link(): ChildProcess | undefined {
    return this.child
  }

  protected sendOn(child: ChildProcess, message: ToAgent): void {
    if (child.connected) child.send(message)
  }

  protected hold(child: ChildProcess, busy: boolean): void {
    holdOpen(child, busy)
  }

  protected override output(seq: number, stream: 1 | 2, text: string): void {
    if (stream === 2) this.stderrTail = [...this.stderrTail.slice(-9), text]
    super.output(seq, stream, text)
  }

  /**
   * The agent exited: what it had started is interrupted, what it had not goes back free (the
   * calls run again either way), and a new agent starts.
   */
  private lost(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return
    this.child = undefined
    this.generation++
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`
    const tail = this.stderrTail.join('\n')
    const failure = new NodeFailure('crash', `agent process ${this.pid} ${how}${tail === '' ? '' : `; last stderr lines:\n${tail}`}`, {
      exitCode: code,
      signal,
      ...(this.pid !== undefined && { pid: this.pid }),
      stderrTail: tail,
      interrupted: true,
    })
    // Every message it sent has arrived (its channel closes before 'exit'): which batches it started too.
    const lost = this.takeLost(failure)
    if (!this.closed) {
      const cause = new Error(`Process ${this.index}: ${failure.message}`)
      this.lifecycle?.({ type: 'lost', reason: 'crash', cause, next: 'replace', exitCode: code, signal, pid: this.pid })
    }
    // The replacement first: the calls failed below are sent again at once, and must reach it
    // (which holds the program open for them: nothing else may, with the only call lost).
    if (!this.closed) this.spawn()
    for (const [entry, why] of lost) entry.failed(why)
  }

  /** Writes the agent's output line by line, prefixed with its node, keeping the last stderr lines. */
  private forward(child: ChildProcess, name: 'stdout' | 'stderr'): void {
    const stream = child[name]
    if (stream === null) return
    const out = name === 'stdout' ? process.stdout : process.stderr
    createInterface({ input: stream }).on('line', (line) => {
      if (name === 'stderr') this.stderrTail = [...this.stderrTail.slice(-9), line]
      out.write(`[process ${this.index}] ${line}\n`)
    })
  }
}

/**
 * Keeps the program alive while work is out on an agent, or not. The process handle too, not
 * only the channel: an agent that dies closes its channel before its 'exit' event, and that
 * event is what sends the lost calls again; with nothing else ref'd the program would exit first.
 */
function holdOpen(child: ChildProcess, busy: boolean): void {
  const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined
  if (busy) {
    child.ref()
    channel?.ref?.()
  } else {
    child.unref()
    channel?.unref?.()
  }
}

