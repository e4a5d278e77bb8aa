// Redis pools for the contract suites: a redis-server per test file, and per pool a fresh pool
// name with two worker processes (one thread each) that dial in; Compute.start waits for both.
// The workers are killed after each test with the pool.
import type { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { afterAll, afterEach } from 'vitest'
import type { ComputeOptions } from 'spindle'
import { spawnRedisWorker, startRedisLab, type RedisLab } from './redis.js'
export const REDIS_WORKERS = 2

let lab: Promise<RedisLab> | undefined
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})
afterAll(async () => {
  const started = lab
  lab = undefined
  await (await started)?.stop()
})

/** Redis options without a pool get a fresh pool, its workers started, and the lab's broker. */
export async function withRedisWorkers(options: ComputeOptions | undefined): Promise<ComputeOptions | undefined> {
  if (options?.backend !== 'redis' || options.pool !== undefined) return options
  lab ??= startRedisLab()
  const { url } = await lab
  const pool = randomUUID().slice(0, 8)
  for (const { child } of await Promise.all(Array.from({ length: REDIS_WORKERS }, () => spawnRedisWorker(url, pool)))) children.push(child)
  return { ...options, redis: { url, heartbeatMs: 200 }, pool, minNodes: REDIS_WORKERS, startTimeout: 30_000 }
}
