// Actors: what does a method call on an actor cost, beside a comlink proxy over a raw worker
// thread and spindle's own compute.run()? One thread each (an actor lives on one).
//
//   (a) sequential round trip: 2,000 awaited calls (add(1); compute.run(t.echo(i))), p10 and
//       p50 in µs. Bars: actor p50 ≤ 1.2× comlink's, ≤ 1.2× compute.run's.
//   (b) throughput: 20,000 add(1) submitted at once and awaited together, calls/s (the best
//       of three bursts per round).
//       Bar: actor ≥ 3× comlink (the calls waiting behind a running one travel together).
//
// Usage: node bench/actors.mjs   (SPINDLE_BENCH_ROUNDS)
import { existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { wrap, releaseProxy } from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { roundsFromEnv, median, percentile, nowMs, withTimeout, printTable, bar, writeResult, expectExit } from './lib/harness.mjs'

const SEQUENTIAL = 2_000
const BURST = 20_000
const ROUNDS = roundsFromEnv(5)
const TIMEOUT_MS = 60_000
const fixture = (file) => new URL(`./fixtures/${file}`, import.meta.url)
const DIST = new URL('../dist/index.js', import.meta.url)

/** Each contender: open() → { call(i): Promise, close() }. */
const contenders = [
  {
    name: 'comlink',
    open: async () => {
      const worker = new Worker(fixture('actor-comlink-worker.mjs'))
      const counter = wrap(nodeEndpoint(worker))
      return { call: () => counter.add(1), close: async () => (counter[releaseProxy](), await worker.terminate()) }
    },
  },
]
if (existsSync(DIST)) {
  const { Compute, remote } = await import(DIST.href)
  const t = remote(fixture('actor-counter.mjs'))
  contenders.push(
    {
      name: 'spindle actor',
      open: async () => {
        const compute = await Compute.start({ workers: 1 })
        const counter = await compute.actor(t.Counter)
        return { call: () => counter.add(1), close: () => compute.close() }
      },
    },
    {
      name: 'spindle run',
      sequentialOnly: true,
      open: async () => {
        const compute = await Compute.start({ workers: 1 })
        return { call: (i) => compute.run(t.echo(i)), close: () => compute.close() }
      },
    },
  )
}

async function measure(c) {
  const pool = await c.open()
  try {
    for (let i = 0; i < 5000; i++) await pool.call(i) // warm: the JIT, and the pool's batch sizing
    const times = []
    for (let i = 0; i < SEQUENTIAL; i++) {
      const start = nowMs()
      await pool.call(i)
      times.push((nowMs() - start) * 1000)
    }
    const out = { p10: percentile(times, 10), p50: percentile(times, 50) }
    if (!c.sequentialOnly) {
      // Three bursts, the fastest counts: the first one also warms the burst's own code paths.
      out.perSecond = 0
      for (let burst = 0; burst < 3; burst++) {
        const start = nowMs()
        await withTimeout(Promise.all(Array.from({ length: BURST }, (_, i) => pool.call(i))), TIMEOUT_MS, `${c.name} burst`)
        out.perSecond = Math.max(out.perSecond, BURST / ((nowMs() - start) / 1000))
      }
    }
    return out
  } finally {
    await pool.close()
  }
}

const perRound = Object.fromEntries(contenders.map((c) => [c.name, []]))
for (let round = 0; round <= ROUNDS; round++) {
  const order = [...contenders].sort(() => Math.random() - 0.5)
  for (const c of order) {
    const figures = await measure(c)
    if (round > 0) perRound[c.name].push(figures) // round 0 is a warm-up
  }
}
const rows = contenders.map((c) => {
  const r = perRound[c.name]
  return { name: c.name, p10: median(r.map((x) => x.p10)), p50: median(r.map((x) => x.p50)), perSecond: c.sequentialOnly ? NaN : median(r.map((x) => x.perSecond)) }
})
printTable(`Sequential round trip (µs, ${SEQUENTIAL} calls) and throughput (${BURST.toLocaleString('en-US')} at once)`, rows, [
  { key: 'p10', label: 'p10 µs', ratio: true },
  { key: 'p50', label: 'p50 µs', ratio: true },
  { key: 'perSecond', label: 'calls/s', ratio: true },
], 'comlink')
const by = Object.fromEntries(rows.map((r) => [r.name, r]))
const actor = by['spindle actor']
const bars = [
  bar('actor round trip p50 / comlink', actor?.p50 / by.comlink.p50, '<=', 1.2),
  bar('actor round trip p50 / compute.run', actor?.p50 / by['spindle run']?.p50, '<=', 1.2),
  bar('actor throughput / comlink', actor?.perSecond / by.comlink.perSecond, '>=', 3),
]
writeResult('actors', { rows, perRound, bars })
expectExit()
