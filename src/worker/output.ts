/**
 * What tasks print on a worker thread, line by line and tied to the call that printed it.
 *
 * Node forwards a worker's stdout/stderr to the parent's in chunks as they are written, so two
 * threads printing at once can interleave mid-line, and nothing says which call a line came
 * from. In a worker we replace `process.stdout.write` and `process.stderr.write` (console uses
 * them too) with a line buffer per (call, stream): the call is the AsyncLocalStorage owner that
 * the runtime runs every call under (so a timer or promise a call starts prints as that call), and
 * only whole lines leave, each tagged with the call's sequence number. The caller's side (the
 * dispatcher, which knows what each call is for) writes them with a prefix. A partial last line is
 * sent when its call's batch ends, so nothing a call printed is lost or held back.
 */
import { currentCallSeq } from './runtime.js'
import { CALL_FIELDS, REQUEST_HEADER, type BatchRequest } from '../protocol/messages.js'

export type OutputStream = 1 | 2

/** Where whole lines go: `seq` 0 for output outside any call (a module's top level). */
export type LineSink = (seq: number, stream: OutputStream, text: string) => void

const pending = new Map<string, string>()
let sink: LineSink | undefined

/** In a worker thread: from now on, task output goes to `send` line by line. Idempotent. */
export function captureOutput(send: LineSink): void {
  if (sink !== undefined) {
    sink = send
    return
  }
  sink = send
  patch(process.stdout, 1)
  patch(process.stderr, 2)
}

/** Sends the unfinished last lines of the calls of `request` (their batch has ended). */
export function flushOutput(request: BatchRequest): void {
  if (pending.size === 0) return // the usual case, on every batch: nothing printed, or only whole lines
  for (let at = REQUEST_HEADER; at < request.length; at += CALL_FIELDS) {
    const seq = request[at] as number
    for (const stream of [1, 2] as const) {
      const key = `${seq}:${stream}`
      const rest = pending.get(key)
      if (rest === undefined) continue
      pending.delete(key)
      sink?.(seq, stream, rest)
    }
  }
}

function patch(target: NodeJS.WriteStream, stream: OutputStream): void {
  const original = target.write.bind(target)
  target.write = function write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (sink === undefined) return original(chunk as string, encoding as BufferEncoding, callback as () => void)
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
    lines(currentCallSeq() ?? 0, stream, text)
    const done = typeof encoding === 'function' ? encoding : callback
    if (typeof done === 'function') queueMicrotask(() => (done as (error?: Error | null) => void)(null))
    return true
  } as typeof target.write
}

function lines(seq: number, stream: OutputStream, text: string): void {
  const key = `${seq}:${stream}`
  let buffered = (pending.get(key) ?? '') + text
  for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
    sink!(seq, stream, buffered.slice(0, end))
    buffered = buffered.slice(end + 1)
  }
  if (buffered === '') pending.delete(key)
  else pending.set(key, buffered)
}
