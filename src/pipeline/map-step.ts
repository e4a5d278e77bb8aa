/**
 * A map step: one call per item, each a leaf that takes a slot of the run; results by index,
 * then `reduce`. Items start in index order, each once it has a slot, so a step of any size
 * holds only its calls in flight (and its results): an item's call is made (`each`) just before
 * it starts, and the step waits for a slot with one listener of its own, not one per item.
 */
import { InvalidOptionError } from '../errors.js'
import { shown } from '../options.js'
import { isPending, type Pending } from '../task/pending.js'
import { resolveStep, type Level, type RunContext } from './context.js'
import type { StepDefinition } from './definition.js'
import type { StepRecord } from './types.js'
import type { TraceParent } from '../observe/otel.js'

/** Extra slots a call may take beyond `maxWorkers` (see Slots): none for a gather, or a call with a deadline. */
export function lookaheadFor(ctx: RunContext, pending: Pending<unknown>, timeout: number | undefined): number {
  if (pending.kind !== 'call' || timeout !== undefined) return 0
  return ctx.slots.lookahead(ctx.runner.msPerCall(pending.task!))
}

export async function mapStep(ctx: RunContext, level: Level, def: StepDefinition, record: StepRecord, trace?: TraceParent): Promise<unknown> {
  const resolve = (ref: Pending<unknown>) => resolveStep(ctx, level, ref)
  const { items, reduce } = def.map!
  const values = await runItems(ctx, def, record, Array.isArray(items) ? items : ((await resolve(items as Pending<unknown>)) as unknown[]), resolve, trace)
  return reduce === undefined ? values : reduce(values)
}

/**
 * Runs the items' calls, as many at once as the run's slots allow; rejects with the first
 * failure (or the run's stop), after which no item starts. Items already running finish on
 * their own and give their slots back then.
 */
function runItems(
  ctx: RunContext,
  def: StepDefinition,
  record: StepRecord,
  items: readonly unknown[],
  resolve: (ref: Pending<unknown>) => Promise<unknown>,
  trace: TraceParent | undefined,
): Promise<unknown[]> {
  const stop = ctx.stop.signal
  const { timeout } = def.options
  const { each } = def.map!
  const total = items.length
  const values = new Array<unknown>(total)
  let next = 0 // the first item not started
  let held: Pending<unknown> | undefined // item `next`'s call, made but waiting for a slot
  let running = 0
  let done = 0
  const progress = () => ctx.listening && ctx.emit({ type: 'items', step: record.name, done, total, at: Date.now() })
  progress() // progress displays show "items done / total" for a running map step

  return new Promise((resolvePromise, reject) => {
    let over = false
    // A slot freed by another level or step of the run may be this step's next item's.
    const slots = ctx.slots.onRelease(() => pump())
    const onStop = () => fail(stop.reason)
    stop.addEventListener('abort', onStop, { once: true })
    const end = () => {
      over = true
      slots.stop()
      stop.removeEventListener('abort', onStop)
    }
    function fail(error: unknown): void {
      if (over) return
      end()
      reject(error)
    }
    function finished(index: number, value: unknown): void {
      values[index] = value
      running--
      done++
      progress()
      slots.give() // not heard by this step's own listener: it refills below
      pump()
    }
    function failed(error: unknown): void {
      running--
      slots.give()
      fail(error)
    }
    function pump(): void {
      while (!over && next < total) {
        if (stop.aborted) return fail(stop.reason)
        try {
          held ??= mapItemCall(def.name, each, items[next], next)
        } catch (error) {
          return fail(error)
        }
        if (!ctx.slots.take(lookaheadFor(ctx, held, timeout))) return // woken by the next release
        const index = next++
        const call = held
        held = undefined
        running++
        const options = { signal: stop, timeout, label: `${record.name}[${index}]` }
        ctx.runner.runWithSteps(call, options, resolve, trace).then((value) => finished(index, value), failed)
      }
      if (!over && running === 0) {
        end()
        resolvePromise(values)
      }
    }
    pump()
  })
}

/** A map step's call for one item, checked: what `each` returns must be a call (or a gather). */
export function mapItemCall(step: string, each: (item: unknown, index: number) => unknown, item: unknown, index: number): Pending<unknown> {
  const pending = each(item, index)
  if (isPending(pending)) return pending
  throw new InvalidOptionError(
    `Map step "${step}": its function must return a call of a remote function for each item, ` +
      `(item) => t.fn(item); for item ${index} it returned ${shown(pending)}.`,
  )
}
