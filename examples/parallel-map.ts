// parallelMap: fan-out over a collection, results in input order.
import { Compute, parallelMap, remote, type MapItemError } from 'spindle'

const t = remote<typeof import('./map-tasks.js')>(new URL('./map-tasks.ts', import.meta.url))

await using compute = await Compute.start({ workers: 2 })

// A remote function over an array: one result per item, in input order.
const ranges = Array.from({ length: 10 }, (_, i) => ({ from: i * 10_000, to: (i + 1) * 10_000 }))
const counts = await parallelMap(ranges, t.countPrimes, { compute })
console.log(`Primes per 10,000: ${counts.join(', ')}`)
console.log(`Primes below 100,000: ${counts.reduce((a, b) => a + b, 0)}`)

// An inline function travels as source code: what it uses from outside comes in `context`.
const width = 25_000
const wide = await parallelMap(
  [0, 1, 2, 3],
  (k: number) => {
    let count = 0
    for (let n = Math.max(2, k * width); n < (k + 1) * width; n++) {
      let d = 2
      while (d * d <= n && n % d !== 0) d++
      if (d * d > n) count++
    }
    return count
  },
  { compute, context: { width } },
)
console.log(`Primes per ${width.toLocaleString('en-US')}: ${wide.join(', ')}`)

// A typed array is shared with the workers, and the same kind of typed array comes back.
const roots = await parallelMap(new Float64Array([1, 4, 9, 16]), (x: number) => Math.sqrt(x), { compute })
console.log(`Roots: ${roots.constructor.name} [${roots.join(', ')}]`)

// stopOnError: false runs every item, then rejects with an AggregateError of the failures, in input order.
const readings = ['12.5', '7', 'n/a', '3.25', '', '9']
try {
  await parallelMap(readings, t.parseReading, { compute, stopOnError: false })
} catch (error) {
  const failures = (error as AggregateError).errors as MapItemError[]
  console.log(`${(error as Error).message}: indices ${failures.map((f) => f.index).join(', ')}`)
  for (const f of failures) console.log(`  item ${f.index}: ${(f.cause as Error).message}`)
}

// settled: true never rejects for an item: one { status, value | reason } per item.
const settled = await parallelMap(readings, t.parseReading, { compute, settled: true })
console.log(`Settled: ${settled.map((s) => (s.status === 'fulfilled' ? s.value : `#${s.reason.index}`)).join(' ')}`)

// iterate: results as an async iterable, in input order, with at most `readAhead` chunks per node ahead.
async function* endlessRanges() {
  for (let from = 0; ; from += 10_000) yield { from, to: from + 10_000 }
}
console.log('First ranges of an endless source:')
let shown = 0
for await (const count of parallelMap.iterate(endlessRanges(), t.countPrimes, { compute, readAhead: 2 })) {
  console.log(`  range ${shown}: ${count} primes`)
  if (++shown === 3) break // leaving the loop stops the generator and cancels the chunks in flight
}
