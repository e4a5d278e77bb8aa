// SIGTERM on the real `spindle worker` executable, as Kubernetes stops a pod: the worker says it
// leaves, the call it was running answers (once, there), then it removes its keys and exits 0.
// Without a SIGTERM handler Node dies at once (exit 143) and the call is lost with it.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Compute } from 'spindle'
import { tasks as t } from '../helpers/pools.js'
import { runRedisTests, startRedisLab, type RedisLab } from '../helpers/redis.js'
import { root } from './helpers.js'

describe.runIf(runRedisTests)('spindle worker', () => {
  let lab: RedisLab
  let child: ChildProcess | undefined
  let dir: string | undefined
  beforeAll(async () => {
    lab = await startRedisLab()
  })
  afterAll(async () => {
    child?.kill('SIGKILL')
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    await lab?.stop()
  })

  it('leaves its pool on SIGTERM: the running call answers, the worker exits 0 and its keys are gone', async () => {
    const worker = (child = spawn(process.execPath, [join(root, 'dist/cli/bin.js'), 'worker', '--redis', lab.url, '--pool', 'term', '--workers-per-node', '2'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }))
    let stderr = ''
    const serving = new Promise<void>((resolve) =>
      worker.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk
        if (stderr.includes('serving pool "term"')) resolve()
      }),
    )
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)))
    await serving

    await using compute = await Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool: 'term', minNodes: 1 })
    dir = mkdtempSync(join(tmpdir(), 'spindle-sigterm-'))
    const call = compute.run(t.recordRun(dir, 0, 1500))
    const ran = join(dir, '0')
    while (!existsSync(ran)) await new Promise((resolve) => setTimeout(resolve, 10)) // a handshake: the call began
    worker.kill('SIGTERM')

    // The call answers before the worker exits (a worker that died first would leave it waiting).
    const first = await Promise.race([call.then((value) => ({ value })), exited.then((exit) => ({ exit }))])
    expect(first, stderr).toEqual({ value: 0 })
    expect(await exited, stderr).toBe(0)
    expect(stderr).toMatch(/leaving pool "term"[\s\S]*: left\n/)
    expect(readFileSync(ran, 'utf8')).toBe(`${worker.pid}\n`) // it ran once, on that worker
    expect(await lab.admin.smembers('spindle:{term}:workers')).toEqual([])
  })
})
