/**
 * `compute.actor()` and `compute.actors()`: checks what they were given, creates the instance on
 * its node, and gives the handle: comlink's typed proxy over the actor's mailbox (link.ts), with
 * the handle's own `close`, `with`, `pending` and `Symbol.asyncDispose`. The pool keeps its actors in an
 * ActorRegistry, so that closing the pool disposes of them first.
 */
import { wrap } from 'comlink'
import { InvalidOptionError, NotCloneableError, SpindleError } from '../errors.js'
import { checkKnownKeys, checkInteger, checkSignal, checkDuration, shown } from '../options.js'
import { findNotCloneable } from '../protocol/cloneable.js'
import type { CallSink } from '../task/call-sink.js'
import { taskOf } from '../task/remote.js'
import { Pending } from '../task/pending.js'
import { localTask } from '../task/local-task.js'
import { ActorEndpoint } from './endpoint.js'
import { place } from './host-calls.js'
import { ActorLink, type ActorSetup } from './link.js'
import type { Actor, ActorOptions, MethodOptions } from './types.js'

const OPTION_KEYS = ['node', 'concurrency', 'restart', 'onEvent']
const METHOD_KEYS = ['timeout', 'signal']

/** A number per actor in this process, for messages (`Counter#3`). */
let serial = 0

/** The actors of one pool: closing the pool disposes of them. */
export class ActorRegistry {
  private readonly links = new Set<ActorLink>()

  constructor(
    private readonly pool: () => CallSink,
    /** Whether a timeout stops the actor's worker (every backend but inline). */
    private readonly stopsOnTimeout: boolean,
  ) {}

  /** `compute.actor(cls, ...args, options?)`. */
  async actor(cls: unknown, given: readonly unknown[]): Promise<Actor<object>> {
    const { args, options } = split(given, 'compute.actor()')
    return this.start(cls, args, options, 'compute.actor()')
  }

  /** `compute.actors(cls, ...args, options?)`: one per node, in node order. */
  async actors(cls: unknown, given: readonly unknown[]): Promise<Array<Actor<object>>> {
    const { args, options } = split(given, 'compute.actors()')
    if (options.node !== undefined) throw new InvalidOptionError('compute.actors() makes one actor on every node: it takes no `node` option. Use compute.actor() to pin one.')
    const nodes = this.pool().nodes
    const made = await Promise.allSettled(Array.from({ length: nodes }, (_, node) => this.start(cls, args, { ...options, node }, 'compute.actors()')))
    const failure = made.find((m) => m.status === 'rejected')
    if (failure === undefined) return made.map((m) => (m as PromiseFulfilledResult<Actor<object>>).value)
    await Promise.allSettled(made.map((m) => (m.status === 'fulfilled' ? m.value.close() : undefined)))
    throw failure.reason
  }

  /**
   * Disposes of every actor (their calls not yet sent fail), waiting at most `timeout` ms;
   * undefined when there are none, so that the pool closes at once, as it did before actors.
   */
  close(timeout: number): Promise<void> | undefined {
    return this.links.size === 0 ? undefined : this.closeAll(timeout)
  }

  private async closeAll(timeout: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))
    await Promise.race([Promise.allSettled([...this.links].map((link) => link.shutdown())), waited])
    clearTimeout(timer)
  }

  private async start(cls: unknown, args: readonly unknown[], options: ActorOptions, where: string): Promise<Actor<object>> {
    const task = taskOf(cls)
    if (task === undefined) {
      throw new InvalidOptionError(`${where} takes a class of a task module (t.Counter, with t = remote(url)), got ${shown(cls)}.`)
    }
    const nodes = this.pool().nodes
    if (options.node !== undefined && (!Number.isInteger(options.node) || options.node < 0 || options.node >= nodes)) {
      throw new SpindleError(
        'ERR_SPINDLE_NO_SUCH_NODE',
        `There is no node ${JSON.stringify(options.node)}: this pool has ${nodes} node${nodes === 1 ? '' : 's'} (0 to ${nodes - 1}). Pin the actor to one of those.`,
      )
    }
    for (let i = 0; i < args.length; i++) {
      const bad = findNotCloneable(args[i], `arguments[${i}]`)
      if (bad !== undefined) {
        throw new NotCloneableError(`${where}: the constructor argument ${bad.path} of ${task.name} cannot be sent to a node: it is ${bad.what}. Pass plain data.`, bad.path)
      }
    }
    const setup: ActorSetup = {
      pool: this.pool(),
      task,
      args,
      label: `${task.name}#${++serial}`,
      concurrency: options.concurrency ?? 1,
      restart: options.restart ?? 0,
      onEvent: options.onEvent,
      stopsOnTimeout: this.stopsOnTimeout,
    }
    const link = new ActorLink(setup, await place(setup, options.node))
    this.links.add(link)
    link.onEnd = () => this.links.delete(link)
    return handle(link, task.module)
  }
}

/**
 * The constructor's arguments and the options after them. The last argument is the options when
 * it is a plain object that is empty or names one of them; a constructor whose last parameter is
 * such an object is given `{}` after it.
 */
function split(given: readonly unknown[], where: string): { args: readonly unknown[]; options: ActorOptions } {
  const last = given[given.length - 1]
  if (!isOptions(last)) return { args: given, options: {} }
  checkKnownKeys(where, last, OPTION_KEYS)
  const options = last as ActorOptions
  if (options.concurrency !== undefined) checkInteger('concurrency', options.concurrency, 1)
  if (options.restart !== undefined) checkInteger('restart', options.restart, 0)
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new InvalidOptionError(`Expected \`onEvent\` to be a function, got ${shown(options.onEvent)}`)
  }
  return { args: given.slice(0, -1), options }
}

function isOptions(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  const keys = Object.keys(value)
  return keys.length === 0 || keys.some((key) => OPTION_KEYS.includes(key))
}

/**
 * The handle. A member (`counter.add`) is a function that calls the method and a thenable that
 * reads the property (`await counter.count`), made once per name; the mailbox takes the call
 * without going through comlink's proxies on this side (a proxy, a random id and a finalizer
 * registration per call were most of a call's cost here). Paths below a member, and
 * `with(options)`, are comlink's own proxies over the same mailbox (endpoint.ts).
 */
function handle(link: ActorLink, module: string): Actor<object> {
  const remote = wrap<Record<string, unknown>>(new ActorEndpoint(link, undefined)) as unknown as Record<string, Record<string | symbol, unknown>>
  const members = new Map<string, unknown>()
  const member = (key: string): unknown => {
    const path = [key]
    const call = (...args: unknown[]) => link.call('APPLY', path, args)
    return new Proxy(call, {
      get(target, inner) {
        if (inner === 'then') return (ok: (v: unknown) => unknown, fail: (e: unknown) => unknown) => link.call('GET', path, []).then(ok, fail)
        if (typeof inner === 'symbol') return Reflect.get(target, inner)
        return remote[key]![inner]
      },
    })
  }
  const close = () => link.close()
  const pendings = new Map<string, (...args: unknown[]) => Pending<unknown>>()
  const pending = new Proxy(Object.create(null) as object, {
    get(_target, key) {
      if (typeof key === 'symbol' || key === 'then') return undefined
      let make = pendings.get(key)
      if (make === undefined) {
        const path = [key]
        const task = localTask(module, `${link.label}.${key}`, (args, { timeout, signal, onDispatch, traceparent, label }) => {
          const own = timeout === undefined && signal === undefined && onDispatch === undefined && traceparent === undefined && label === undefined
          // With options it travels alone; a pipeline step's label names the call in the trace and the report.
          return link.call('APPLY', path, args, own ? undefined : { timeout, signal, onDispatch, traceparent, label })
        })
        pendings.set(key, (make = (...args: unknown[]) => Pending.call(task, args)))
      }
      return make
    },
  })
  const withOptions = (options: MethodOptions) => {
    checkKnownKeys(`${link.label}.with()`, options, METHOD_KEYS)
    if (options.timeout !== undefined) checkDuration('timeout', options.timeout)
    if (options.signal !== undefined) checkSignal('signal', options.signal)
    return wrap(new ActorEndpoint(link, options))
  }
  return new Proxy(Object.create(null) as object, {
    get(_target, key) {
      if (key === 'close' || key === Symbol.asyncDispose) return close
      if (key === 'with') return withOptions
      if (key === 'pending') return pending
      if (key === 'then' || typeof key === 'symbol') return undefined // not a thenable; no comlink internals
      let found = members.get(key)
      if (found === undefined) members.set(key, (found = member(key)))
      return found
    },
    set(_target, key) {
      // A set would go without anyone waiting for it: its failure would be an unhandled rejection.
      throw new InvalidOptionError(`Cannot set ${String(key)} on actor ${link.label} from the caller: give the class a method that sets it, and await that.`)
    },
  }) as Actor<object>
}
