import { InvalidOptionError } from '../errors.js'
import { isPending, Pending } from './pending.js'

/** The tuple of values a tuple of Pendings produces, typed per position (like Promise.all). */
export type GatherValues<P extends readonly Pending<unknown>[]> = {
  -readonly [K in keyof P]: P[K] extends Pending<infer T> ? T : never
}

/**
 * A batch (skyward's `gather`, `p1 & p2`): running it runs every item at once and gives their
 * values in submission order. Streaming it yields them as they finish.
 */
export function gather<const P extends readonly Pending<unknown>[]>(...items: P): Pending<GatherValues<P>> {
  items.forEach((item, i) => {
    if (!isPending(item)) {
      throw new InvalidOptionError(
        `gather() takes Pendings (calls of a remote function), but item ${i} is ${typeof item}. ` +
          'Write gather(t.fn(a), t.fn(b)), not gather(await ...).',
      )
    }
  })
  return Pending.gather(items)
}
