/**
 * Option checking shared by every entry point, in p-map's style:
 * ``Expected `workers` to be an integer >= 1, got `0` (number)``, and a did-you-mean for
 * unknown keys (``Unknown option "worker" for Compute.start(). Did you mean "workers"?``).
 */
import { InvalidOptionError } from './errors.js'

/**
 * Options named after those of the pools and maps users come from, and spindle's names for the
 * same thing (the first that `where` knows is suggested).
 */
const PEER_NAMES: Record<string, { peer: string; ours: readonly string[] }> = {
  maxThreads: { peer: "piscina's and tinypool's", ours: ['workers', 'maxWorkers'] },
  minThreads: { peer: "piscina's and tinypool's", ours: ['workers', 'maxWorkers'] },
  maxWorkers: { peer: "workerpool's", ours: ['workers'] },
  numWorkers: { peer: "Dask's", ours: ['workers', 'maxWorkers'] },
  concurrentTasksPerWorker: { peer: "piscina's", ours: ['concurrency', 'workersPerNode'] },
  concurrency: { peer: "p-map's", ours: ['workers', 'maxWorkers'] },
  taskTimeout: { peer: "tinypool's", ours: ['timeout'] },
  workerData: { peer: "piscina's", ours: ['context'] },
}

export function checkKnownKeys(where: string, options: object, known: readonly string[]): void {
  checkOptionsObject(where, options)
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const peer = Object.hasOwn(PEER_NAMES, key) ? PEER_NAMES[key]! : undefined
    const ours = peer?.ours.find((name) => known.includes(name))
    const guess = closest(key, known)
    throw new InvalidOptionError(
      `Unknown option "${key}" for ${where}.` +
        (ours !== undefined
          ? ` Did you mean "${ours}"? It is spindle's name for ${peer!.peer} \`${key}\` here.`
          : guess !== undefined
            ? ` Did you mean "${guess}"?`
            : ` Known options: ${known.join(', ')}.`),
    )
  }
}

/** Options are an object (or absent): `compute.run(p, 1)` must not pass for "no options". */
export function checkOptionsObject(where: string, options: unknown): asserts options is object {
  if (typeof options === 'object' && options !== null && !Array.isArray(options)) return
  throw new InvalidOptionError(`Expected the options of ${where} to be an object, got ${shown(options)}. Pass { ... } or leave them out.`)
}

export function checkInteger(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidOptionError(`Expected \`${name}\` to be an integer >= ${min}, got ${shown(value)}`)
  }
}

/** A duration in ms: a finite number > 0 (Infinity allowed where `allowInfinity`). */
export function checkDuration(name: string, value: unknown, allowInfinity = false): asserts value is number {
  const ok = typeof value === 'number' && value > 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity))
  if (!ok) throw new InvalidOptionError(`Expected \`${name}\` to be a number of milliseconds > 0, got ${shown(value)}`)
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new InvalidOptionError(
      `Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${shown(value)}`,
    )
  }
}

export function checkSignal(name: string, value: unknown): asserts value is AbortSignal {
  if (!(value instanceof AbortSignal)) {
    throw new InvalidOptionError(`Expected \`${name}\` to be an AbortSignal, got ${shown(value)}`)
  }
}

export function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  return `\`${text}\` (${value === null ? 'null' : typeof value})`
}

/**
 * The known name at the smallest edit distance, if close enough to be a typo, but never an edit
 * of the whole name ("c" is not a typo of "a").
 */
export function closest(wanted: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.min(Math.max(2, Math.floor(wanted.length / 3)) + 1, wanted.length)
  for (const candidate of known) {
    if (Math.abs(candidate.length - wanted.length) >= bestDistance) continue // cannot beat the best
    const d = distance(wanted.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  return best
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
