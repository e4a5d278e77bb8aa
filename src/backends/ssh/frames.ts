/**
 * Frames on a byte stream (the agent's stdin and stdout over SSH): a 4-byte big-endian length,
 * then the message in node:v8's serialization, which carries what structured clone carries
 * (typed arrays, Map, Date, BigInt, ...) the same way the process backend's IPC channel does.
 * A `null` frame is a heartbeat. The first frame from the agent says which protocol it speaks.
 */
import { deserialize, serialize } from 'node:v8'
import type { AgentReady, FromAgent, ToAgent } from '../../protocol/messages.js'
import type { AgentConfig } from '../agent/agent-host.js'
import type { ModuleFrame } from '../agent/module-frames.js'

export type { ModuleFrame }

/** Agent → caller, first frame: the agent is up and speaks `protocol`. */
export interface ReadyFrame extends AgentReady {
  readonly protocol: number
  readonly node: string
}

/** Caller → agent, first frame: how to be a node (as the process agent's argv). */
export interface ConfigFrame {
  readonly config: AgentConfig
  readonly heartbeatInterval: number
  /** Silence from the caller after which the agent exits (longer than the caller's own timeout). */
  readonly callerTimeout: number
  /** The caller's URL of spindle's dist/ directory: modules under it are the bundle's own copy. */
  readonly dist: string
  readonly protocol: number
}

export type CallerFrame = ToAgent | ModuleFrame | ConfigFrame | null
export type AgentFrame = FromAgent | ReadyFrame | null

export const PROTOCOL = 1

export function encodeFrame(message: unknown): Buffer {
  const body = serialize(message)
  const frame = Buffer.allocUnsafe(4 + body.length)
  frame.writeUInt32BE(body.length, 0)
  body.copy(frame, 4)
  return frame
}

/** Splits a stream's chunks into messages; hands each to `receive` in order. */
export class FrameReader {
  private pending: Buffer[] = []
  private size = 0

  constructor(private readonly receive: (message: unknown) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk)
    this.size += chunk.length
    if (this.size < 4) return
    let data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.size)
    let at = 0
    while (data.length - at >= 4) {
      const length = data.readUInt32BE(at)
      if (data.length - at - 4 < length) break
      const message: unknown = deserialize(data.subarray(at + 4, at + 4 + length))
      at += 4 + length
      this.receive(message)
    }
    data = data.subarray(at)
    this.pending = data.length > 0 ? [data] : []
    this.size = data.length
  }
}
