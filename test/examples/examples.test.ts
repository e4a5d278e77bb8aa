// Every example runs as a user would run it (under tsx), and prints what the README shows.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { tmpdir } from 'node:os'
import { promisify } from 'node:util'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runSshTests, startSshLab, type SshLab } from '../helpers/sshd.js'
import { runRedisTests, startRedisLab, type RedisLab } from '../helpers/redis.js'
import { spawn, type ChildProcess } from 'node:child_process'

const run = promisify(execFile)
const root = new URL('../../', import.meta.url)

async function example(file: string, ...args: string[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
    cwd: root,
    timeout: 60_000,
  })
  return stdout.trimEnd().split('\n')
}

/**
 * An example that keeps a run log and a step cache under its working directory, run from a fresh
 * one: its output is a first run's, whatever ran before (a cache hit makes no attempt).
 */
async function freshExample(file: string): Promise<string[]> {
  const cwd = mkdtempSync(join(tmpdir(), 'spindle-example-'))
  try {
    const tsx = pathToFileURL(createRequire(root).resolve('tsx')).href // from the repository, not the empty cwd
    const { stdout } = await run(process.execPath, ['--import', tsx, fileURLToPath(new URL(`examples/${file}`, root))], { cwd, timeout: 60_000 })
    return stdout.trimEnd().split('\n')
  } finally {
    rmSync(cwd, { recursive: true, force: true })
  }
}

describe('examples', () => {
  it('parallel-execution.ts prints the guide\'s results, then streams in completion order', async () => {
    const lines = await example('parallel-execution.ts')
    expect(lines.slice(0, 4)).toEqual([
      'Chunk sums: [6, 15, 24]',
      'Products: 6, 20',
      'Mixed: sum=6, product=200, factorial=120',
      'Streaming (completion order):',
    ])
    const streamed = lines.slice(4)
    expect(streamed).toHaveLength(3)
    for (const line of streamed) expect(line).toMatch(/^ {2}task \d done after \d+ ms of work \(elapsed \d+\.\d\d s\)$/)
    // Each result arrives no sooner than its own work takes.
    for (const line of streamed) {
      const [, ms, elapsed] = /after (\d+) ms .*elapsed (\d+\.\d+) s/.exec(line)!
      expect(Number(elapsed) * 1000).toBeGreaterThanOrEqual(Number(ms) - 5)
    }
    expect(streamed.map((l) => l.slice(0, 8)).sort()).toEqual(['  task 0', '  task 1', '  task 2'])
  })

  it('plain-node.mjs runs on plain Node, without tsx (no `await using`)', async () => {
    const { stdout } = await run(process.execPath, ['examples/plain-node.mjs'], { cwd: root, timeout: 60_000 })
    expect(stdout).toBe('Squares: 1, 4, 9, 16\n')
  })

  it('broadcast.ts: one line per node and the total', async () => {
    expect(await example('broadcast.ts')).toEqual([
      'Node 0: 250 items, sum=124500',
      'Node 1: 250 items, sum=124750',
      'Node 2: 250 items, sum=125000',
      'Node 3: 250 items, sum=125250',
      'Total: 499500 (expected: 499500)',
    ])
  })

  it('broadcast.ts --backend process: the same over four child processes', async () => {
    expect(await example('broadcast.ts', '--backend', 'process')).toEqual([
      'Node 0: 250 items, sum=124500',
      'Node 1: 250 items, sum=124750',
      'Node 2: 250 items, sum=125000',
      'Node 3: 250 items, sum=125250',
      'Total: 499500 (expected: 499500)',
    ])
  })

  describe.runIf(runSshTests)('over SSH (two sshd on 127.0.0.1, named by Host aliases of an ssh_config)', () => {
    let lab: SshLab
    let ssh: string[]
    beforeAll(async () => {
      lab = await startSshLab(2)
      const config = join(lab.dir, 'ssh_config')
      writeFileSync(
        config,
        lab.ports
          .map((port, i) =>
            [
              `Host spindle-example-${i}`,
              '  HostName 127.0.0.1',
              `  Port ${port}`,
              `  User ${lab.host(0).user}`,
              `  IdentityFile ${lab.identityFile}`,
              '  IdentitiesOnly yes',
              `  UserKnownHostsFile ${lab.knownHosts}`,
              '  GlobalKnownHostsFile /dev/null',
              '',
            ].join('\n'),
          )
          .join(''),
      )
      ssh = ['--hosts', 'spindle-example-0,spindle-example-1', '--ssh-config', config, '--node', process.execPath]
    })
    afterAll(async () => {
      await lab?.stop()
    })

    it('broadcast.ts --backend ssh: one node per host', async () => {
      expect(await example('broadcast.ts', '--backend', 'ssh', ...ssh)).toEqual([
        'Node 0: 500 items, sum=249500',
        'Node 1: 500 items, sum=250000',
        'Total: 499500 (expected: 499500)',
      ])
    })

    it('ssh-cluster.ts: a gather over the hosts, then a broadcast to each', async () => {
      expect(await example('ssh-cluster.ts', ...ssh)).toEqual([
        'Chunk sums: 6, 15, 24, 33',
        'Node 0 of 2: spindle-example-0, 2 threads',
        'Node 1 of 2: spindle-example-1, 2 threads',
        'One job id on every node: true',
      ])
    })

    // The broker's unix socket is reachable from the loopback hosts' sessions (the same machine).
    it.runIf(runRedisTests)('redis-over-ssh.ts: a Redis pool whose workers it starts on the hosts', async () => {
      const redis = await startRedisLab()
      try {
        expect(await example('redis-over-ssh.ts', '--redis', redis.url, ...ssh)).toEqual([
          'Chunk sums: 6, 15, 24, 33',
          'Worker 0 of 2: redis backend, 2 threads',
          'Worker 1 of 2: redis backend, 2 threads',
        ])
      } finally {
        await redis.stop()
      }
    })
  })

  describe.runIf(runRedisTests)('on Redis', () => {
    let lab: RedisLab
    const workers: ChildProcess[] = []
    beforeAll(async () => {
      lab = await startRedisLab()
      // Two `spindle worker`s, as the README starts them; the example waits for both (--min-nodes 2).
      const bin = fileURLToPath(new URL('dist/cli/bin.js', root))
      for (let i = 0; i < 2; i++) workers.push(spawn(process.execPath, [bin, 'worker', '--redis', lab.url, '--pool', 'example', '--workers-per-node', '2'], { stdio: 'ignore' }))
    })
    afterAll(async () => {
      const stopped = workers.map((w) => new Promise((resolve) => (w.exitCode !== null ? resolve(null) : w.once('exit', resolve))))
      for (const w of workers) w.kill('SIGTERM') // each leaves the pool
      await Promise.all(stopped)
      await lab?.stop()
    })

    it('redis-pool.ts: a gather over the workers that dialled in, then a broadcast to each', async () => {
      expect(await example('redis-pool.ts', '--redis', lab.url, '--pool', 'example', '--min-nodes', '2')).toEqual([
        'Chunk sums: 6, 15, 24, 33',
        '2 workers, 2 threads and 2 threads, on the redis backend',
      ])
    })
  })

  it('broadcast.ts --backend inline: one node holds everything', async () => {
    expect(await example('broadcast.ts', '--backend', 'inline')).toEqual([
      'Node 0: 1000 items, sum=499500',
      'Total: 499500 (expected: 499500)',
    ])
  })
  it('deadlines.ts: timeout, cancellation, a task\'s own error, pinning', async () => {
    expect(await example('deadlines.ts')).toEqual([
      'Timed out: ERR_SPINDLE_TIMEOUT',
      'Cancelled: user cancelled',
      'RecordError: line 7 is not JSON (code E_RECORD, line 7)',
      'Ran on node 0 of 2 (thread)',
    ])
  })

  it('pool-events.ts: a node stopped at a deadline is lost and replaced; the stats count what ran', async () => {
    const lines = await example('pool-events.ts')
    expect(lines.slice(0, 5)).toEqual([
      'Primes below 1,000,000: 78498',
      'TimeoutError',
      'Node 1 lost (stopped): Worker 1 (thread) was stopped to end a call (its deadline passed, or it was cancelled)',
      'Node 1 replaced',
      'Calls: 42 completed, 1 failed, 0 queued, 0 running',
    ])
    expect(lines[5]).toMatch(/^Node 0: up, \d+ calls, \d+% busy, lost 0 time\(s\)$/)
    expect(lines[6]).toMatch(/^Node 1: up, \d+ calls, \d+% busy, lost 1 time\(s\)$/)
    const calls = lines.slice(5, 7).map((line) => Number(/(\d+) calls/.exec(line)![1]))
    expect(calls[0]! + calls[1]!).toBe(42) // the busy loop never answered
    expect(lines[7]).toMatch(/^Run time p50 \d+\.\d ms, p99 \d+\.\d ms; wait p50 \d+\.\d ms$/)
    expect(lines).toHaveLength(8)
  })

  it('actors.ts: a model loaded once scores many rows; an actor whose worker dies is lost', async () => {
    expect(await example('actors.ts')).toEqual([
      'Scored 1000 rows: 0.12, 0.68, 1.24, ...',
      'It scored 1000 rows, with its weights loaded 1 time(s)',
      'Caches on nodes 0, 1',
      'ERR_SPINDLE_ACTOR_LOST: Model#4 on node 1',
      'Still scoring: 0.68',
    ])
  })

  it('parallel-map.ts: remote and inline functions, a typed array, error modes, iterate', async () => {
    expect(await example('parallel-map.ts')).toEqual([
      'Primes per 10,000: 1229, 1033, 983, 958, 930, 924, 878, 902, 876, 879',
      'Primes below 100,000: 9592',
      'Primes per 25,000: 2762, 2371, 2260, 2199',
      'Roots: Float64Array [1, 2, 3, 4]',
      'parallelMap: 2 of 6 items failed: indices 2, 4',
      '  item 2: not a number: "n/a"',
      '  item 4: not a number: ""',
      'Settled: 12.5 7 #2 3.25 #4 9',
      'First ranges of an endless source:',
      '  range 0: 1229 primes',
      '  range 1: 1033 primes',
      '  range 2: 983 primes',
    ])
  })

  it('batch-files.ts: one summary per globbed file, sorted, then the grand total; removes its files', async () => {
    const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith('spindle-batch-')).length
    const before = leftovers()
    expect(await example('batch-files.ts')).toEqual([
      'readings-00.csv: 40 rows, total 1980, mean 49.50',
      'readings-01.csv: 41 rows, total 1937, mean 47.24',
      'readings-02.csv: 42 rows, total 2079, mean 49.50',
      'readings-03.csv: 43 rows, total 2206, mean 51.30',
      'readings-04.csv: 44 rows, total 2118, mean 48.14',
      'readings-05.csv: 45 rows, total 2215, mean 49.22',
      'readings-06.csv: 46 rows, total 2397, mean 52.11',
      'readings-07.csv: 47 rows, total 2264, mean 48.17',
      'readings-08.csv: 48 rows, total 2316, mean 48.25',
      'readings-09.csv: 49 rows, total 2553, mean 52.10',
      'readings-10.csv: 50 rows, total 2475, mean 49.50',
      'readings-11.csv: 51 rows, total 2382, mean 46.71',
      'readings-12.csv: 52 rows, total 2774, mean 53.35',
      'readings-13.csv: 53 rows, total 2551, mean 48.13',
      'readings-14.csv: 54 rows, total 2613, mean 48.39',
      'readings-15.csv: 55 rows, total 2860, mean 52.00',
      'readings-16.csv: 56 rows, total 2792, mean 49.86',
      'readings-17.csv: 57 rows, total 2709, mean 47.53',
      'readings-18.csv: 58 rows, total 3111, mean 53.64',
      'readings-19.csv: 59 rows, total 2798, mean 47.42',
      'readings-20.csv: 60 rows, total 2970, mean 49.50',
      'readings-21.csv: 61 rows, total 3127, mean 51.26',
      'readings-22.csv: 62 rows, total 3069, mean 49.50',
      'readings-23.csv: 63 rows, total 2996, mean 47.56',
      'All 24 files: 1236 rows, total 61292, mean 49.59',
    ])
    expect(leftovers()).toBe(before)
  })

  it('pipeline-run.ts: runs pipeline.ts from code, fitting the model through two parallel feature steps', async () => {
    expect(await freshExample('pipeline-run.ts')).toEqual([
      'Run succeeded: y = 3.00x + 2.00',
      '  load    succeeded after 1 attempt(s)',
      '  featA   succeeded after 1 attempt(s)',
      '  featB   succeeded after 1 attempt(s)',
      '  train   succeeded after 1 attempt(s)',
      '  notify  succeeded after 1 attempt(s)',
    ])
  })

  it('parallel-branches.ts: two branches of every step kind, then nested branches', async () => {
    const lines = await example('parallel-branches.ts')
    expect(lines[0]).toBe('parallel: succeeded')
    expect(lines.slice(1, 11).every((line) => line.endsWith(': succeeded'))).toBe(true)
    expect(lines).toContain('  branches/right/report: succeeded')
    expect(lines.at(-1)).toBe('nested: succeeded, 15 steps, deepest: outer/solo/report')
  })

  it('report.ts: writes a trace with every attempt and a report that fetches nothing', async () => {
    expect(await example('report.ts')).toEqual([
      'Run succeeded',
      'trace.json: attempts featA #1, featB #1, load #1, train #1; 4 calls on node tracks',
      'report.html: 4 steps, fetches nothing: true',
    ])
  })

  it('tracing.ts: calls, a map\'s chunks and a pipeline\'s steps as OpenTelemetry spans, in their tree', async () => {
    expect(await example('tracing.ts')).toEqual([
      'spindle.call processChunk',
      'spindle.parallelMap square',
      '  spindle.chunk square [0, 2)',
      '  spindle.chunk square [2, 4)',
      'spindle.pipeline fit',
      '  spindle.step load',
      '    spindle.call multiply',
      '  spindle.step train',
      '    spindle.call factorial',
    ])
  })

  it('flowyml-chunks.ts: five chunk steps and their total', async () => {
    expect(await example('flowyml-chunks.ts')).toEqual([
      'chunk0: 33283350000',
      'chunk1: 33233400000',
      'chunk2: 33283350000',
      'chunk3: 33133600000',
      'chunk4: 33083750000',
      'total: 166017450000',
    ])
  })
})
