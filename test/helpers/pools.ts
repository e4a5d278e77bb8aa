import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach } from 'vitest'
import { Compute, remote, type ComputeOptions } from 'spindle'
import type * as Tasks from '../fixtures/tasks.mjs'
import { runSshTests, startSshLab, type SshLab } from './sshd.js'
import { runRedisTests } from './redis.js'
import { withRedisWorkers } from './redis-pools.js'

export const tasks = remote<typeof Tasks>(new URL('../fixtures/tasks.mjs', import.meta.url))

/** Pools started through this helper are closed after each test, whatever the test did. */
export function usePools(): (options?: ComputeOptions) => Promise<Compute> {
  const open: Compute[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((pool) => pool.close()))
  })
  return async (options) => {
    const pool = await Compute.start(await withRedisWorkers(await withLabHosts(options)))
    open.push(pool)
    return pool
  }
}

/** A SharedArrayBuffer of int32 cells and helpers for handshakes with tasks. */
export function cells(count = 8) {
  const buffer = new SharedArrayBuffer(count * 4)
  const view = new Int32Array(buffer)
  return {
    buffer,
    view,
    /** Waits (without blocking the event loop) until cell `slot` reaches `value`. */
    async until(slot: number, value: number): Promise<void> {
      for (;;) {
        const seen = Atomics.load(view, slot)
        if (seen >= value) return
        await waitAsync(view, slot, seen, 50).value
      }
    },
    release(): void {
      Atomics.store(view, 0, 1)
      Atomics.notify(view, 0)
    },
  }
}

// Node 20 has Atomics.waitAsync; TypeScript declares it only from lib ES2024, which would also
// admit APIs that Node 20 lacks.
const waitAsync = (Atomics as unknown as {
  waitAsync(view: Int32Array, index: number, value: number, timeout: number): { value: Promise<string> | string }
}).waitAsync

const LOCAL_BACKENDS = [
  { name: 'thread', options: { backend: 'thread', workers: 2 } },
  { name: 'process', options: { backend: 'process', workers: 2 } },
  { name: 'inline', options: { backend: 'inline' } },
] as const satisfies ReadonlyArray<{ name: string; options: ComputeOptions }>

/**
 * Every backend the contract suites run on. `ssh` (two hosts: two sshd on 127.0.0.1, see
 * sshd.ts) is there when sshd is installed, or when CI requires it (then a missing sshd fails).
 * Its hosts are filled in by usePools from a lab started on first use in each test file.
 */
export const BACKENDS: ReadonlyArray<{ name: 'thread' | 'process' | 'inline' | 'ssh' | 'redis'; options: ComputeOptions }> = [
  ...LOCAL_BACKENDS,
  ...(runSshTests ? [{ name: 'ssh' as const, options: { backend: 'ssh' as const } }] : []),
  ...(runRedisTests ? [{ name: 'redis' as const, options: { backend: 'redis' as const } }] : []),
]

let lab: Promise<SshLab> | undefined
afterAll(async () => {
  const started = lab
  lab = undefined
  await (await started)?.stop()
})

/** SSH options without hosts get the test lab's two hosts. */
async function withLabHosts(options: ComputeOptions | undefined): Promise<ComputeOptions | undefined> {
  if (options?.backend !== 'ssh' || options.hosts !== undefined) return options
  lab ??= startSshLab(2)
  return { ...options, hosts: (await lab).hosts(2) }
}

/**
 * Probes for tasks on any backend (threads and processes alike): counters, concurrency and
 * handshakes through files in a temp directory, removed after each test.
 */
export function useProbes() {
  let dir = ''
  afterEach(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
    dir = ''
  })
  const path = (name: string) => {
    if (dir === '') dir = mkdtempSync(join(tmpdir(), 'spindle-probe-'))
    return join(dir, name)
  }
  return {
    path,
    /** How many times countRunFile / flakyFile ran on `name`. */
    runs: (name: string) => (existsSync(path(name)) ? statSync(path(name)).size : 0),
    /** The most concurrentFile calls on `name` seen running at once. */
    maxConcurrent: (name: string) =>
      Math.max(0, ...readFileSync(`${path(name)}.max`, 'utf8').trim().split('\n').map(Number)),
    /** Waits (polling, not as an oracle) until `count` holdUntilFile calls on `name` have started. */
    async started(name: string, count: number): Promise<void> {
      while ((existsSync(path(name)) ? readdirSync(path(name)).length : 0) < count) await new Promise((r) => setTimeout(r, 2))
    },
    release: (name: string) => writeFileSync(path(name), ''),
  }
}
