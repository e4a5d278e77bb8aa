// The SSH backend over loopback: Compute.start({ backend: 'ssh', hosts: [one host] }) against
// a throw-away sshd on 127.0.0.1, the process backend (one child process: the same agent over
// IPC) and a raw baseline (lib/raw-ssh.mjs: bytes echoed on one long-lived ssh channel).
//
// The thread backend and piscina (one thread each) are measured in the same run, for scale.
//
//   (a) round trip: 2,000 sequential awaited no-op calls on an open connection; p10 / p50 µs.
//       Bar: spindle ssh p50 < 1 ms.
//   (b) throughput: 20,000 no-op calls submitted at once (one gather) on one host running one
//       thread; the batches the dispatcher sends carry many calls per frame.
//       Bar: spindle ssh >= 20k calls/s per host.
//   (c) bootstrap: Compute.start() until the host's agent is ready, with the bundle already
//       cached on the host (a second run), and cold (a new cache directory: the bundle is
//       uploaded). Bar: cached bootstrap < 1 s.
//
// Usage: node bench/ssh.mjs   (SPINDLE_BENCH_ROUNDS; needs sshd: apt-get install openssh-server)
import { existsSync } from 'node:fs'
import {
  roundsFromEnv, rounds, median, percentile, nowMs, nowNs, nsToUs, withTimeout, printTable, bar, writeResult, expectExit, onPool,
} from './lib/harness.mjs'
import { anchorContenders } from './lib/contenders.mjs'
import { RawSsh } from './lib/raw-ssh.mjs'
import { SSHD, startSshd } from './lib/sshd.mjs'

const TASKS = 20_000
const TRIPS = 2_000
const ROUNDS = roundsFromEnv(3)
const TIMEOUT_MS = 120_000 // far above any sane figure: only a hang gets there
const DIST = new URL('../dist/index.js', import.meta.url)

if (!existsSync(DIST) || SSHD === undefined) {
  console.error(!existsSync(DIST) ? 'dist/index.js not found: run `npm run build`' : 'sshd is not installed: apt-get install openssh-server openssh-client')
  process.exit(1)
}
const { remote, gather, Compute } = await import(DIST.href)
const t = remote(new URL('./fixtures/tasks.mjs', import.meta.url))
const sshd = await startSshd()
let coldCaches = 0

const wrap = (compute, startMs) => ({
  startMs,
  run: () => compute.run(t.noop()),
  batch: (n) => compute.run(gather(...Array.from({ length: n }, () => t.noop()))),
  close: () => compute.close(),
})
const contenders = [
  { name: 'spindle-ssh', open: async () => {
    const started = nowMs()
    const compute = await Compute.start({ backend: 'ssh', hosts: [sshd.host()] })
    const pool = wrap(compute, nowMs() - started)
    // Cold start, on the side: a new cache directory, so the bundle is uploaded.
    const cold = nowMs()
    await (await Compute.start({ backend: 'ssh', hosts: [sshd.host(`cold-${coldCaches++}`)] })).close()
    pool.coldMs = nowMs() - cold
    return pool
  } },
  { name: 'spindle-process', open: async () => {
    const started = nowMs()
    return wrap(await Compute.start({ backend: 'process', workers: 1 }), nowMs() - started)
  } },
  { name: 'spindle-thread', open: async () => {
    const started = nowMs()
    return wrap(await Compute.start({ workers: 1 }), nowMs() - started)
  } },
  // The anchor: piscina with one thread, one call per message, as its users call it.
  { name: 'piscina', open: async () => {
    const started = nowMs()
    const pool = await anchorContenders(1).find((c) => c.name === 'piscina').open()
    return { run: () => pool.run('noop'), batch: (n) => pool.batch('noop', undefined, n), close: () => pool.close(), startMs: nowMs() - started }
  } },
  { name: 'raw-ssh', open: async () => {
    const started = nowMs()
    const pool = new RawSsh(sshd.sshArgs)
    await pool.run()
    return { run: () => pool.run(), batch: (n) => pool.batch(n), close: () => pool.close(), startMs: nowMs() - started }
  } },
]
const errors = {}

async function measure(c) {
  return onPool(c.name, errors, TIMEOUT_MS, () => c.open(), async (pool) => {
    for (let i = 0; i < 200; i++) await pool.run() // warm the path (JIT, batch sizer)
    const samples = new Float64Array(TRIPS)
    for (let i = 0; i < TRIPS; i++) {
      const start = nowNs()
      await pool.run()
      samples[i] = nsToUs(nowNs() - start)
    }
    const start = nowMs()
    const out = await withTimeout(pool.batch(TASKS), TIMEOUT_MS, `${c.name}: ${TASKS} no-ops`)
    const ms = nowMs() - start
    if (out.length !== TASKS) throw new Error(`${c.name}: ${out.length} results for ${TASKS} calls`)
    return { p10: percentile(samples, 10), p50: percentile(samples, 50), tps: TASKS / (ms / 1000), startMs: pool.startMs, coldMs: pool.coldMs }
  })
}

console.log(`ssh: one loopback host, 1 thread; ${TRIPS} round trips, ${TASKS} no-op calls, ${ROUNDS} rounds + 1 warm-up`)
// The warm-up round also puts the bundle in the host's cache: every measured spindle-ssh start is a second run.
const raw = await rounds(contenders, ROUNDS, measure)
await sshd.stop()

const rows = contenders.map((c) => {
  const ok = raw[c.name].filter(Boolean)
  const of = (key) => median(ok.map((r) => r[key]).filter((v) => v !== undefined))
  return { name: c.name, p10: of('p10'), p50: of('p50'), tps: of('tps'), startMs: of('startMs'), coldMs: of('coldMs') }
})
const row = (name) => rows.find((r) => r.name === name) ?? {}

printTable('(a) round trip on an open connection (median of rounds; µs)', rows,
  [{ key: 'p10', label: 'p10 µs' }, { key: 'p50', label: 'p50 µs', ratio: true }], 'raw-ssh')
printTable(`(b) throughput, ${TASKS} no-op calls at once, one host / process (median calls/s)`, rows,
  [{ key: 'tps', label: 'calls/s', ratio: true }], 'raw-ssh')
printTable('(c) start until ready (median ms; spindle-ssh: bundle cached on the host; cold: uploaded)', rows,
  [{ key: 'startMs', label: 'start ms' }, { key: 'coldMs', label: 'cold start ms' }], 'raw-ssh')

const ssh = row('spindle-ssh')
console.log('\nbars')
const bars = [
  bar('spindle ssh round trip p50 on an open connection', ssh.p50 / 1000, '<=', 1, ' ms'),
  bar('spindle ssh no-op calls/s per host (batched)', ssh.tps, '>=', 20_000, ' calls/s'),
  bar('spindle ssh bootstrap, bundle cached (second run)', ssh.startMs / 1000, '<=', 1, ' s'),
]
const ratio = (a, b) => `${(a / b).toFixed(2)}×`
console.log(`ratios: round trip p50 ssh/process ${ratio(ssh.p50, row('spindle-process').p50)}, ssh/thread ${ratio(ssh.p50, row('spindle-thread').p50)}, ` +
  `ssh/piscina ${ratio(ssh.p50, row('piscina').p50)}, ssh/raw-ssh ${ratio(ssh.p50, row('raw-ssh').p50)}; ` +
  `throughput ssh/process ${ratio(ssh.tps, row('spindle-process').tps)}, ssh/thread ${ratio(ssh.tps, row('spindle-thread').tps)}, ssh/piscina ${ratio(ssh.tps, row('piscina').tps)}`)
for (const [name, err] of Object.entries(errors)) console.log(`ERROR ${name}: ${err.split('\n')[0]}`)

writeResult('ssh', { tasks: TASKS, trips: TRIPS, rounds: ROUNDS, summary: rows, perRound: raw, bars, errors })
if (Object.keys(errors).length > 0) process.exitCode = 1
expectExit()
