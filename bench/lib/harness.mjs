// Shared helpers for the bench scripts: statistics, timing, interleaved rounds,
// table printing, pass/fail bars and result files.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'

/** Worker count for every pool: SPINDLE_BENCH_WORKERS, else one per available core. */
export const WORKERS = Number(process.env.SPINDLE_BENCH_WORKERS) || os.availableParallelism()

/** Measured rounds (after the warm-up): SPINDLE_BENCH_ROUNDS, else the script's default. */
export const roundsFromEnv = (fallback) => Number(process.env.SPINDLE_BENCH_ROUNDS) || fallback

export function median(values) {
  return percentile(values, 50)
}

/** Percentile by linear interpolation between closest ranks (p in 0..100). */
export function percentile(values, p) {
  if (values.length === 0) return NaN
  const sorted = Float64Array.from(values).sort()
  const rank = (p / 100) * (sorted.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
}

/** Monotonic clock in milliseconds, sub-microsecond resolution. */
export const nowMs = () => performance.now()

/** Nanosecond clock for very short intervals (single round trips). */
export const nowNs = () => process.hrtime.bigint()
export const nsToUs = (ns) => Number(ns) / 1e3

/** Runs fn once and returns the elapsed milliseconds (and its result). */
export async function timeMs(fn) {
  const start = nowMs()
  const value = await fn()
  return { ms: nowMs() - start, value }
}

/**
 * Rejects if `promise` has not settled after `ms`: a hang in a contender is a finding
 * to report, not a reason for the whole bench to stall forever.
 */
export function withTimeout(promise, ms, label) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer after ${ms} ms (hang?)`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * One round for one contender: `measure(pool)` on the pool `open()` starts, closed afterwards
 * whatever happened. A contender that fails or hangs is recorded in `errors[name]` (the script
 * then exits 1) and is not run again: its rounds are null.
 */
export async function onPool(name, errors, timeoutMs, open, measure) {
  if (errors[name]) return null // broken in an earlier round: do not pay its timeout again
  try {
    const pool = await withTimeout(open(), timeoutMs, `${name}: start`)
    try {
      return await measure(pool)
    } finally {
      await withTimeout(pool.close(), timeoutMs, `${name}: close`)
    }
  } catch (err) {
    errors[name] = err.stack ?? String(err)
    console.error(`\n${name} FAILED: ${errors[name]}`)
    return null
  }
}

function shuffle(array) {
  const a = array.slice()
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

/**
 * Interleaved, shuffled rounds: each round runs every contender once, in a fresh random
 * order, so machine drift (thermal, noisy neighbours, GC) spreads over all contenders
 * instead of favouring whoever ran first. The first `warmup` rounds are discarded.
 * Returns { [contender.name]: [value of fn per measured round] }.
 */
export async function rounds(contenders, n, fn, { warmup = 1 } = {}) {
  const results = Object.fromEntries(contenders.map((c) => [c.name, []]))
  for (let r = 0; r < warmup + n; r++) {
    const label = r < warmup ? `warm-up ${r + 1}/${warmup}` : `round ${r - warmup + 1}/${n}`
    process.stderr.write(`  ${label}:`)
    for (const c of shuffle(contenders)) {
      process.stderr.write(` ${c.name}`)
      const value = await fn(c, r)
      if (r >= warmup) results[c.name].push(value)
    }
    process.stderr.write('\n')
  }
  return results
}

/**
 * Prints one row per contender. columns: [{ key, label, fmt?, ratio? }]; a column with
 * `ratio: true` gets a second column "× <baseline>" = row value / baseline row value.
 */
export function printTable(title, rows, columns, baseline) {
  const base = rows.find((r) => r.name === baseline)
  const head = ['contender']
  for (const c of columns) {
    head.push(c.label)
    if (c.ratio) head.push(`× ${baseline}`)
  }
  const body = rows.map((row) => {
    const cells = [row.name]
    for (const c of columns) {
      const v = row[c.key]
      cells.push(Number.isFinite(v) ? (c.fmt ?? fmt)(v) : '—')
      if (c.ratio) cells.push(base && Number.isFinite(v) ? (v / base[c.key]).toFixed(2) : '—')
    }
    return cells
  })
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)))
  const line = (cells) => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ')
  console.log(`\n${title}`)
  console.log(line(head))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const b of body) console.log(line(b))
}

/** Default number format: thousands separators, at most 3 significant decimals. */
export function fmt(v) {
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US')
  return v.toPrecision(3)
}

/**
 * Checks value against a bar (op '>=' or '<='; unit '×' for ratios), prints PASS / FAIL / SKIP, returns the
 * verdict for the result file. SKIP when the value is missing (e.g. dist/ not built).
 */
export function bar(label, value, op, threshold, unit = '×') {
  const ok = op === '>=' ? value >= threshold : value <= threshold
  const verdict = !Number.isFinite(value) ? 'SKIP' : ok ? 'PASS' : 'FAIL'
  const shown = Number.isFinite(value) ? `${value.toFixed(3)}${unit}` : 'n/a'
  console.log(`${verdict.padEnd(4)}  ${label}: ${shown} (bar ${op} ${threshold}${unit})`)
  return { label, value, op, threshold, verdict }
}

/** A loopback port nobody listens on now (the kernel picks it; closed again at once). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Writes bench/results/<name>-<date>.json; returns its path. */
export function writeResult(name, results) {
  const date = new Date().toISOString()
  const dir = new URL('../results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const file = new URL(`${name}-${date.replace(/[:.]/g, '-')}.json`, dir)
  const data = { node: process.version, cores: os.availableParallelism(), date, workers: WORKERS, results }
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n')
  console.log(`\nwrote ${file.pathname}`)
  return file.pathname
}

/**
 * Call when the script is done. Every pool was closed, so the process should now exit
 * by itself; if something still holds it open after a grace period, say what and fail.
 */
export function expectExit(graceMs = 5000) {
  setTimeout(() => {
    console.error(`process still alive ${graceMs} ms after the bench ended; open handles:`,
      process.getActiveResourcesInfo().filter((r) => r !== 'Timeout'))
    process.exit(1)
  }, graceMs).unref()
}
