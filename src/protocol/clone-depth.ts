/**
 * Values nested too deeply to send: V8's serializer recurses, and structured clone of an array
 * nested ~5,000 levels deep overflows the stack (a RangeError from postMessage). The ordinary
 * cloneability walk is iterative and never needs this; a thorough check after a failed send does.
 */
import { types } from 'node:util'
import { Frame, pathOf, SEG_INDEX, SEG_PROP, SEG_ROOT, type NotCloneable } from './value-path.js'

/** Nesting past which structured clone (V8's serializer recurses) may overflow the stack: ~3,000-5,000 on Node 20. */
const MAX_DEPTH = 2000

/**
 * The outermost part of `value` that nests deeper than MAX_DEPTH (a 100,000-deep array), for a
 * send that failed with a RangeError. Its path stops where the nesting starts: the full one would
 * be thousands of `[0]`s long.
 */
export function findTooDeep(value: unknown, path: string): NotCloneable | undefined {
  const stack: Array<[Frame, number]> = [[new Frame(value, undefined, SEG_ROOT, undefined, 0), 0]]
  const visited = new Set<object>()
  while (stack.length > 0) {
    const [frame, depth] = stack.pop()!
    const v = frame.value
    if (typeof v !== 'object' || v === null || visited.has(v) || types.isProxy(v)) continue
    visited.add(v)
    if (depth > MAX_DEPTH) {
      let top = frame
      while (top.parent !== undefined && top.parent.seg !== SEG_ROOT) top = top.parent
      return { path: pathOf(top, path), what: `nested more than ${MAX_DEPTH.toLocaleString('en-US')} levels deep (structured clone recurses, and overflows the stack a few thousand levels down): flatten it` }
    }
    let children: Iterable<[string | number, unknown]>
    try {
      children = Array.isArray(v) ? v.entries() : v instanceof Map || v instanceof Set ? [...v.values()].entries() : Object.entries(v)
    } catch {
      continue // a throwing getter: the walk above reports those
    }
    for (const [key, x] of children) if (typeof x === 'object' && x !== null) stack.push([new Frame(x, frame, typeof key === 'number' ? SEG_INDEX : SEG_PROP, key, 0), depth + 1])
  }
  return undefined
}
