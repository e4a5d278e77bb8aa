// What Perfetto and chrome://tracing need of each trace event (the JSON object format), checked
// field by field, plus what makes the tracks readable: every track named, async slices balanced.
import { expect } from 'vitest'
import type { TraceEvent } from 'spindle'

const METADATA = new Set(['process_name', 'process_sort_index', 'thread_name', 'thread_sort_index'])

export function expectValidTrace(events: readonly TraceEvent[]): void {
  const processes = new Set<number>()
  const threads = new Set<string>()
  for (const e of events) {
    const where = JSON.stringify(e)
    expect(['X', 'b', 'e', 'M'], where).toContain(e.ph)
    expect(typeof e.name === 'string' && e.name.length > 0, where).toBe(true)
    expect(Number.isInteger(e.pid) && e.pid >= 0, where).toBe(true)
    expect(Number.isInteger(e.tid) && e.tid >= 0, where).toBe(true)
    expect(Number.isInteger(e.ts) && e.ts >= 0, `ts in integer µs from the start: ${where}`).toBe(true)
    if (e.ph === 'X') expect(Number.isInteger(e.dur) && e.dur! >= 0, `dur: ${where}`).toBe(true)
    else expect(e.dur, where).toBeUndefined()
    if (e.ph === 'b' || e.ph === 'e') expect(typeof e.cat === 'string' && typeof e.id === 'string', where).toBe(true)
    if (e.ph === 'M') {
      expect(METADATA.has(e.name), where).toBe(true)
      expect(e.args, where).toBeDefined()
      if (e.name === 'process_name') processes.add(e.pid)
      if (e.name === 'thread_name') threads.add(`${e.pid}:${e.tid}`)
    }
  }
  for (const e of events) {
    expect(processes.has(e.pid), `process ${e.pid} is named`).toBe(true)
    if (e.ph === 'X') expect(threads.has(`${e.pid}:${e.tid}`), `track ${e.pid}:${e.tid} is named`).toBe(true)
  }
  // Nestable async slices: per id, each end closes the innermost open begin of the same name, never earlier than it.
  const open = new Map<string, TraceEvent[]>()
  for (const e of events) {
    if (e.ph !== 'b' && e.ph !== 'e') continue
    const stack = open.get(e.id!) ?? open.set(e.id!, []).get(e.id!)!
    if (e.ph === 'b') {
      stack.push(e)
      continue
    }
    const begin = stack.pop()
    expect(begin?.name, `end of ${e.name} (${e.id}) matches its begin`).toBe(e.name)
    expect(e.ts).toBeGreaterThanOrEqual(begin!.ts)
  }
  for (const [id, stack] of open) expect(stack, `async slices of ${id} all end`).toEqual([])
}

/** Complete slices on the pool's node tracks, with the name of their track. */
export function nodeSlices(events: readonly TraceEvent[]): Array<TraceEvent & { track: string }> {
  const names = new Map(events.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}:${e.tid}`, String(e.args!.name)]))
  return events.filter((e) => e.ph === 'X').map((e) => ({ ...e, track: names.get(`${e.pid}:${e.tid}`)! }))
}
