// SIGTERM on the real `spindle worker` executable, as Kubernetes stops a pod: the worker says it
// leaves, the call it was running answers (once, there), then it removes its keys and exits 0.
// Without a SIGTERM handler Node dies at once (exit 143) and the call is lost with it. With
// `--idle-exit` it leaves the same way once no caller has used it for that long (a batch Job's end).
// And `spindle run --backend redis`, a pipeline on such workers.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Compute } from 'spindle'
import { tasks as t } from '../helpers/pools.js'
import { runRedisTests, startRedisLab, type RedisLab } from '../helpers/redis.js'
import { cli, projectFile, root } from './helpers.js'

describe.runIf(runRedisTests)('spindle worker, and spindle run on its pool', () => {
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

  it('with --idle-exit, leaves once no caller has had a session for that long, and not while one has', async () => {
    // The caller first: it waits for the worker, whose session then opens as it joins.
    const starting = Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool: 'idle', minNodes: 1, startTimeout: 30_000 })
    const worker = (child = spawn(process.execPath, [join(root, 'dist/cli/bin.js'), 'worker', '--redis', lab.url, '--pool', 'idle', '--idle-exit', '1s'], { stdio: ['ignore', 'ignore', 'pipe'] }))
    let stderr = ''
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)))
    const compute = await starting
    expect(await compute.run(t.delayedEcho('busy', 2500))).toBe('busy') // a session open for 2.5 idle times
    expect(stderr).not.toContain('no caller')
    await compute.close()
    expect(await exited, stderr).toBe(0)
    expect(stderr).toMatch(/no caller for 1s; leaving pool "idle"[\s\S]*: left\n/)
  })

  it('spindle run --backend redis runs a pipeline on the pool; resume needs the URL again, which the run log does not hold', async () => {
    const worker = (child = spawn(process.execPath, [join(root, 'dist/cli/bin.js'), 'worker', '--redis', lab.url, '--pool', 'cli-run', '--workers-per-node', '2'], { stdio: 'ignore' }))
    const cwd = (dir = mkdtempSync(join(tmpdir(), 'spindle-cli-redis-')))
    const ran = await cli(['run', projectFile(cwd, 'ok.mjs'), '--backend', 'redis', '--redis', lab.url, '--pool', 'cli-run', '--no-progress'], cwd)
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toMatch(/^Run \S+ of "ok" succeeded/)
    const id = /^Run (\S+) of /m.exec(ran.stdout)![1]!
    const runDir = join(cwd, '.spindle/runs', id)
    const recorded = (readdirSync(runDir, { recursive: true }) as string[]).filter((f) => statSync(join(runDir, f)).isFile())
    expect(recorded).toContain('invocation.json')
    for (const f of recorded) expect(readFileSync(join(runDir, f), 'utf8'), f).not.toContain(lab.url)
    expect(await cli(['resume', id], cwd)).toMatchObject({ code: 2, stderr: expect.stringContaining('resume it with `--redis <url> --pool <name>`') })
    const exited = new Promise((resolve) => worker.once('exit', resolve))
    worker.kill('SIGTERM')
    await exited
  })
})
