/**
 * A Redis worker's callers: one session per caller that said hello, each a node agent host
 * (agent/agent-host.ts) with threads of its own, whose messages go back on that caller's reply
 * stream. A session ends when its caller says goodbye (its pool closed) or its heartbeat key is
 * gone (the caller died): its threads are ended, whatever they run, and its reply stream is
 * deleted. Batches received and not yet answered are counted, so a leaving worker can wait for
 * them.
 */
import { startAgentHost, type AgentConfig, type AgentHost } from '../agent/agent-host.js'
import { ShippedModules, type ModuleCache } from '../agent/module-cache.js'
import type { ShipFrame } from './module-store.js'
import type { FromAgent, ToAgent } from '../../protocol/messages.js'

/** A caller's first frame to a worker: the agent's configuration for its session. */
export interface Hello {
  readonly hello: Omit<AgentConfig, 'info'> & { readonly info: Omit<AgentConfig['info'], 'workersPerNode'> }
  /** The caller's URL of spindle's dist/: its modules there are the worker's own. */
  readonly dist: string
}

/** A caller's last frame: its pool closed. */
export interface Bye {
  readonly bye: true
}

export type CallerFrame = ToAgent | Hello | Bye | ShipFrame

interface Session {
  readonly host: AgentHost
  /** The caller's names for the modules in the worker's cache. */
  readonly modules: ShippedModules
  /** Ids of the batches it was sent and has not answered (one sent twice counts once). */
  readonly out: Set<number>
}

export class WorkerSessions {
  private readonly sessions = new Map<string, Session>()
  private idle: (() => void) | undefined

  /** `send`: a message for `caller`'s reply stream; `ended`: a session ended (delete what it left). */
  constructor(
    private readonly workersPerNode: number,
    private readonly cache: ModuleCache,
    private readonly send: (caller: string, message: FromAgent) => void,
    private readonly ended: (caller: string) => void,
  ) {}

  get callers(): string[] {
    return [...this.sessions.keys()]
  }

  /** Batches sent to this worker, over every session, and not yet answered. */
  get running(): number {
    let count = 0
    for (const session of this.sessions.values()) count += session.out.size
    return count
  }

  handle(caller: string, frame: CallerFrame): void {
    if (!Array.isArray(frame) && 'hello' in frame) return this.open(caller, frame)
    if (!Array.isArray(frame) && 'bye' in frame) return void this.end(caller)
    const session = this.sessions.get(caller)
    if (session === undefined) return // a caller that ended, or one this worker never met
    if (!Array.isArray(frame) && 'ship' in frame) return session.modules.add(frame.ship, this.cache.url(frame.path)) // fetched into the cache first
    if (Array.isArray(frame)) session.out.add(frame[1])
    session.host(frame)
  }

  /** Resolves once no batch is out on any session (at once if none is). */
  drained(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => (this.idle = resolve))
  }

  /** Ends `caller`'s session: its threads stop, and its keys are deleted. */
  async end(caller: string): Promise<void> {
    const session = this.sessions.get(caller)
    if (session === undefined) return
    this.sessions.delete(caller)
    this.ended(caller)
    await session.host.close()
    this.checkIdle()
  }

  async endAll(): Promise<void> {
    await Promise.all(this.callers.map((caller) => this.end(caller)))
  }

  private open(caller: string, frame: Hello): void {
    if (this.sessions.has(caller)) return // a hello sent again after a broker restart
    const config: AgentConfig = { ...frame.hello, info: { ...frame.hello.info, workersPerNode: this.workersPerNode } }
    const modules = new ShippedModules(frame.dist)
    const session: Session = {
      out: new Set(),
      modules,
      host: startAgentHost(config, (message) => {
        if ('done' in message || 'failed' in message) {
          session.out.delete('done' in message ? message.done[2] : message.failed)
          this.checkIdle()
        }
        this.send(caller, message)
      }, modules),
    }
    this.sessions.set(caller, session)
    this.send(caller, { ready: true, pid: process.pid })
  }

  private checkIdle(): void {
    if (this.idle !== undefined && this.running === 0) {
      this.idle()
      this.idle = undefined
    }
  }
}
