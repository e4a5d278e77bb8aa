// Runs every bench script, one after the other, each in its own Node process: a fresh
// heap and no worker threads left over from the previous script, and no loader
// (tsx/ts-node) in the way of worker start-up. `npm run bench` builds dist/ first.
//
// Usage: node bench/run-all.mjs [name ...]    e.g. node bench/run-all.mjs dispatch scheduling
// Environment (passed through): SPINDLE_BENCH_WORKERS, SPINDLE_BENCH_ROUNDS.
// Exits non-zero if a script crashed, errored or did not exit by itself; a FAIL on a
// bar does not, because on a noisy machine a bar can miss by chance: read the tables.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SCRIPTS = ['dispatch', 'cpu-scaling', 'parallel-map', 'scheduling', 'pipelines', 'process', 'ssh', 'redis', 'actors']
const PER_SCRIPT_TIMEOUT_MS = 15 * 60_000 // a hung script must not hang CI

const wanted = process.argv.slice(2).map((a) => a.replace(/\.mjs$/, ''))
const unknown = wanted.filter((w) => !SCRIPTS.includes(w))
if (unknown.length > 0) {
  console.error(`unknown bench script(s): ${unknown.join(', ')}; known: ${SCRIPTS.join(', ')}`)
  process.exit(2)
}
const selected = wanted.length > 0 ? SCRIPTS.filter((s) => wanted.includes(s)) : SCRIPTS

function runScript(name) {
  const file = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url))
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, [file], { stdio: 'inherit' })
    const timer = setTimeout(() => {
      console.error(`\n${name}: still running after ${PER_SCRIPT_TIMEOUT_MS / 60_000} min, killing it`)
      child.kill('SIGKILL')
    }, PER_SCRIPT_TIMEOUT_MS)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ name, code, signal, seconds: (performance.now() - started) / 1000 })
    })
  })
}

const outcomes = []
for (const name of selected) {
  console.log(`\n===== ${name} =====`)
  outcomes.push(await runScript(name))
}

console.log('\n===== summary =====')
for (const o of outcomes) {
  const status = o.code === 0 ? 'ok' : o.signal ? `killed (${o.signal})` : `exit ${o.code}`
  console.log(`${o.name.padEnd(14)} ${status.padEnd(14)} ${o.seconds.toFixed(1)} s`)
}
console.log('results: bench/results/*.json')
process.exitCode = outcomes.every((o) => o.code === 0) ? 0 : 1
