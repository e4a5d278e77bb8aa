/**
 * Where a value sits inside what is being sent, as text (`args[1].model.predict`,
 * `value.get("key")`, `items.values()[2]`). The cloneability walk keeps a chain of frames and
 * builds the text only when it finds something.
 */

/** What cannot be sent, and where it sits. */
export interface NotCloneable {
  /** Where the value sits, e.g. `args[1].model.predict` or `value.get("key")`. */
  path: string
  /** What it is and why it cannot be sent, e.g. `a function (predict)`. */
  what: string
}

/** The root of a path into a call's arguments: `args[1].model` is in the call's second argument. */
export const ARGS = 'args'

/** The path of a call's argument `index` (where a path into it starts). */
export function argumentPath(index: number): string {
  return `${ARGS}[${index}]`
}

export const SEG_ROOT = 0
export const SEG_PROP = 1
export const SEG_INDEX = 2
export const SEG_MAP_KEY = 3
export const SEG_MAP_VALUE = 4
export const SEG_SET_MEMBER = 5

/** One value waiting to be checked, with how it was reached (the path is only built on a find). */
export class Frame {
  constructor(
    readonly value: unknown,
    readonly parent: Frame | undefined,
    readonly seg: number,
    /** The property name, the index, or the Map key. */
    readonly key: unknown,
    /** The position among a Map's or Set's entries. */
    readonly position: number,
  ) {}
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function mapKeyText(key: unknown): string | undefined {
  switch (typeof key) {
    case 'string':
      return key.length <= 60 ? JSON.stringify(key) : undefined
    case 'number':
      return Object.is(key, -0) ? '-0' : String(key)
    case 'bigint':
      return `${key}n`
    case 'boolean':
    case 'undefined':
      return String(key)
    default:
      return key === null ? 'null' : undefined
  }
}

function segmentText(frame: Frame): string {
  switch (frame.seg) {
    case SEG_PROP: {
      const key = frame.key as string
      return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
    }
    case SEG_INDEX:
      return `[${frame.key as number}]`
    case SEG_MAP_KEY:
      return `.keys()[${frame.position}]`
    case SEG_MAP_VALUE: {
      const text = mapKeyText(frame.key)
      return text === undefined ? `.values()[${frame.position}]` : `.get(${text})`
    }
    case SEG_SET_MEMBER:
      return `.values()[${frame.position}]`
    default:
      return ''
  }
}

export function pathOf(frame: Frame, root: string): string {
  const parts: string[] = []
  for (let f: Frame | undefined = frame; f !== undefined && f.seg !== SEG_ROOT; f = f.parent) parts.push(segmentText(f))
  return root + parts.reverse().join('')
}
