/**
 * Reading one of the pool's frame streams (a worker's requests, a caller's replies): it has one
 * reader, which blocks on XREAD from its own cursor, hands each entry's sender and frame on in
 * order, and trims what it has read (XTRIM MINID keeps the last entry, so the cursor stays valid).
 * The cursor is the reader's to reset: a restarted broker lost the stream, so reading starts over.
 */
import type { Redis } from 'ioredis'
import { field } from './keys.js'

export interface Cursor {
  /** The last entry read; '0' reads from the start. */
  last: string
}

export interface FrameStream {
  /** The connection that blocks on XREAD (no other command waits behind it). */
  readonly reader: Redis
  /** The connection that trims. */
  readonly commands: Redis
  /** The stream's key, read afresh on every read (a worker that joins again reads a new one). */
  readonly key: () => string
  readonly cursor: Cursor
  /** The field that names who sent an entry: `c` (a caller) or `w` (a worker). */
  readonly sender: 'c' | 'w'
  readonly blockMs: number
  /** False once the loop is to end (checked after each read). */
  readonly open: () => boolean
}

/** Reads `stream` until it is not open; `handle` (awaited) gets each frame with its sender. */
export async function followFrames(stream: FrameStream, handle: (sender: string, frame: Buffer) => void | Promise<void>): Promise<void> {
  while (stream.open()) {
    const key = stream.key()
    const read = await stream.reader.xreadBuffer('BLOCK', stream.blockMs, 'STREAMS', key, stream.cursor.last).catch(() => null)
    if (read === null) continue
    for (const [, entries] of read) {
      for (const [entry, fields] of entries) {
        stream.cursor.last = entry.toString()
        const sender = field(fields, stream.sender)?.toString()
        const frame = field(fields, 'm')
        if (sender !== undefined && frame !== undefined) await handle(sender, frame)
      }
    }
    void stream.commands.xtrim(key, 'MINID', stream.cursor.last).catch(() => {}) // read: no longer needed
  }
}
