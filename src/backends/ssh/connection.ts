/**
 * One SSH connection to a host, running one node agent (or a Redis worker, redis/ssh-launch.ts,
 * which speaks the same frames to start and to stay alive): the system's ssh client (so
 * ~/.ssh/config, the agent, ProxyJump and known_hosts all apply) spawned without a shell.
 * Opening it is the bootstrap: read the host's boot line (its Node version; whether the bundle is
 * cached), upload the bundle only when missing, send the agent its configuration, wait for its
 * ready frame. After that it carries frames both ways, forwards the agent's stderr line by line
 * with a `[host N]` prefix, and watches the heartbeat: a host silent for `heartbeatTimeout` is
 * lost, and so is one whose ssh exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { SshError } from '../../errors.js'
import type { FromAgent } from '../../protocol/messages.js'
import { diagnose } from './diagnose.js'
import { encodeFrame, FrameReader, PROTOCOL, type AgentFrame, type CallerFrame, type ConfigFrame, type ReadyFrame } from './frames.js'
import type { ResolvedHost, ResolvedSshOptions } from './hosts.js'

const BOOT_LINE = /^spindle-boot (v[\d.]+\S*) (have|need)$/
const KILL_GRACE_MS = 2000

export interface ConnectionSetup {
  readonly host: ResolvedHost
  readonly index: number
  readonly args: string[]
  readonly archive: Buffer
  /** The first frame: the agent's configuration, or another entry script's (redis/worker-ssh.ts). */
  readonly config: ConfigFrame | object
  readonly options: ResolvedSshOptions
  /** A frame from the agent (after ready). */
  readonly receive: (message: FromAgent, from: Connection) => void
  /** The connection is gone (after ready): why, and the agent's last stderr lines. */
  readonly lost: (reason: string, stderrTail: string, from: Connection) => void
}

export class Connection {
  /** The agent's pid on its host. */
  pid = 0
  private tail: string[] = []
  private up = false
  private gone = false
  private lastHeard = Date.now()
  private timer: NodeJS.Timeout | undefined

  private constructor(
    private readonly setup: ConnectionSetup,
    private readonly child: ChildProcess,
  ) {}

  /** Connects and starts the agent; rejects with an SshError that says what went wrong and what to do. */
  static open(setup: ConnectionSetup): Promise<Connection> {
    const child = spawn('ssh', setup.args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const connection = new Connection(setup, child)
    return connection.boot()
  }

  send(message: CallerFrame): void {
    if (!this.gone) this.child.stdin!.write(encodeFrame(message))
  }

  /**
   * Keeps the program alive while work is out on this host (an idle pool never does). ssh itself
   * and both its pipes: when the host is lost, stdout ends before ssh's exit and stderr's end,
   * and that 'close' is what sends the lost calls elsewhere (or waits for a reconnection).
   */
  hold(busy: boolean): void {
    const { child } = this
    for (const handle of [child, child.stdout, child.stderr] as Array<{ ref?(): void; unref?(): void } | null>) {
      if (busy) handle?.ref?.()
      else handle?.unref?.()
    }
  }

  /** Ends the agent: its stdin closes, it exits, and so does ssh; killed if it takes longer than `grace` ms. */
  async close(grace = KILL_GRACE_MS): Promise<void> {
    this.gone = true
    clearInterval(this.timer)
    const child = this.child
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('close', resolve))
    child.stdin!.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), grace)
    await exited
    clearTimeout(timer)
  }

  /** Drops the connection now (the host stopped answering): killing ssh closes it. */
  kill(): void {
    clearInterval(this.timer)
    this.child.kill('SIGKILL')
  }

  private boot(): Promise<Connection> {
    const { child, setup } = this
    const { host, options } = setup
    let remoteNode: string | undefined
    let text = ''
    return new Promise<Connection>((resolve, reject) => {
      const fail = (error: SshError) => {
        if (this.gone) return
        this.gone = true
        clearTimeout(deadline)
        child.kill('SIGKILL')
        reject(error)
      }
      const deadline = setTimeout(
        () => fail(diagnose(host, { exitCode: null, signal: null, stderr: this.stderrTail(), remoteNode, timedOut: options.connectTimeout })),
        options.connectTimeout,
      )
      const reader = new FrameReader((frame) => {
        this.lastHeard = Date.now()
        const message = frame as AgentFrame
        if (message === null) return // heartbeat
        if (this.up) return setup.receive(message as FromAgent, this)
        const ready = message as ReadyFrame
        if (ready.ready !== true || ready.protocol !== PROTOCOL) {
          return fail(new SshError('ERR_SPINDLE_SSH_BOOTSTRAP', `SSH host ${host.name}: the agent speaks protocol ${ready.protocol}, not ${PROTOCOL}. Clear the host's spindle cache directory.`, host.name))
        }
        this.up = true
        this.pid = ready.pid
        clearTimeout(deadline)
        this.watch()
        resolve(this)
      })
      const onStdout = (chunk: Buffer) => {
        if (remoteNode !== undefined) return reader.push(chunk)
        text += chunk.toString('latin1')
        for (let newline = text.indexOf('\n'); newline !== -1 && remoteNode === undefined; newline = text.indexOf('\n')) {
          const line = text.slice(0, newline)
          text = text.slice(newline + 1)
          const boot = BOOT_LINE.exec(line)
          if (boot === null) {
            this.keep(line) // a login banner or a shell's noise: not ours
            continue
          }
          remoteNode = boot[1]!
          if (remoteNode.slice(1).split('.')[0] !== process.versions.node.split('.')[0]) continue // the host exits 3
          if (boot[2] === 'need') {
            const length = Buffer.alloc(4)
            length.writeUInt32BE(setup.archive.length, 0)
            child.stdin!.write(length)
            child.stdin!.write(setup.archive)
          }
          child.stdin!.write(encodeFrame(setup.config))
          if (text.length > 0) reader.push(Buffer.from(text, 'latin1'))
        }
      }
      child.stdout!.on('data', onStdout)
      child.stdin!.on('error', () => {}) // a dead host: 'exit' says so
      child.on('error', (error) => fail(new SshError('ERR_SPINDLE_SSH_BOOTSTRAP', `SSH host ${host.name}: could not run ssh (${error.message}). Install the OpenSSH client.`, host.name, { cause: error })))
      createInterface({ input: child.stderr! }).on('line', (line) => {
        this.keep(line)
        if (this.up) process.stderr.write(`[host ${setup.index}] ${line}\n`)
      })
      // 'close', not 'exit': by then stderr has been read to the end, and the reason is in it.
      child.once('close', (code, signal) => {
        if (!this.up) return fail(diagnose(host, { exitCode: code, signal, stderr: this.stderrTail(), remoteNode, timedOut: undefined }))
        clearInterval(this.timer)
        if (this.gone) return
        this.gone = true
        const how = signal !== null ? `ssh was killed by ${signal}` : `the connection ended (ssh exit code ${code})`
        setup.lost(how, this.stderrTail(), this)
      })
      child.unref()
      for (const stream of [child.stdout, child.stderr, child.stdin]) (stream as { unref?: () => void } | null)?.unref?.()
    })
  }

  /** Heartbeats: one frame each interval; silence past the timeout loses the host. */
  private watch(): void {
    const { heartbeatInterval, heartbeatTimeout } = this.setup.options
    let lastTick = Date.now()
    this.timer = setInterval(() => {
      const now = Date.now()
      // A timer far behind means this process was frozen (a long synchronous task, a debugger):
      // the host had no chance to be heard, so it is not judged on this tick.
      const frozen = now - lastTick > heartbeatTimeout
      lastTick = now
      if (frozen) this.lastHeard = now
      if (now - this.lastHeard > heartbeatTimeout) {
        if (this.gone) return
        this.gone = true
        this.kill()
        this.setup.lost(`no heartbeat for ${now - this.lastHeard} ms (the host, its agent or the network stopped answering)`, this.stderrTail(), this)
        return
      }
      this.send(null)
    }, heartbeatInterval)
    this.timer.unref()
  }

  private keep(line: string): void {
    this.tail = [...this.tail.slice(-9), line]
  }

  private stderrTail(): string {
    return this.tail.join('\n')
  }
}
