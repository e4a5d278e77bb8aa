// The raw SSH baseline: one long-lived ssh channel to a remote `node` that answers each 4-byte
// request with the same 4 bytes. No protocol, no batching, no agent: the floor of what a round
// trip over SSH costs on this machine, and what pipelined messages can reach.
import { spawn } from 'node:child_process'

const ECHO = "process.stdin.on('data',(d)=>process.stdout.write(d))"

export class RawSsh {
  constructor(sshArgs) {
    this.child = spawn('ssh', sshArgs(`'${process.execPath}' -e "${ECHO}"`), { stdio: ['pipe', 'pipe', 'inherit'] })
    this.waiting = []
    this.pending = 0
    this.child.stdout.on('data', (chunk) => {
      this.pending += chunk.length
      while (this.pending >= 4 && this.waiting.length > 0) {
        this.pending -= 4
        this.waiting.shift()()
      }
    })
  }

  /** One message there and back. */
  run() {
    return new Promise((resolve) => {
      this.waiting.push(resolve)
      this.child.stdin.write(Buffer.alloc(4))
    })
  }

  /** `n` messages at once, in one write: pipelined. */
  batch(n) {
    const all = Array.from({ length: n }, () => new Promise((resolve) => this.waiting.push(resolve)))
    this.child.stdin.write(Buffer.alloc(4 * n))
    return Promise.all(all)
  }

  close() {
    return new Promise((resolve) => {
      this.child.once('exit', resolve)
      this.child.stdin.end()
    })
  }
}
