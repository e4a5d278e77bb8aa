// The SSH backend's bad input: each host that cannot be used fails Compute.start() with its own
// code, naming the host and the fix, before any work, and leaves nothing running.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Compute, gather, remote, type SshHost } from 'spindle'
import type * as Relative from '../fixtures/relative/tasks.mjs'
import type * as Typed from '../fixtures/relative/typed.js'
import { tasks as t, usePools } from '../helpers/pools.js'
import { processesWith, until } from '../helpers/processes.js'
import { runSshTests, sshMissing, sshRequired, startSshLab, type SshLab } from '../helpers/sshd.js'

const child = new URL('../fixtures/lifecycle-child.mjs', import.meta.url).pathname

it.runIf(sshRequired)('sshd and the OpenSSH client are installed (SPINDLE_REQUIRE_SSH=1)', () => {
  expect(sshMissing).toBe('')
})

describe.runIf(runSshTests)('SSH hosts', () => {
  let lab: SshLab
  let scratch = ''
  beforeAll(async () => {
    lab = await startSshLab(1)
    scratch = mkdtempSync(join(tmpdir(), 'spindle-ssh-hosts-'))
  })
  afterAll(async () => {
    await lab?.stop()
    rmSync(scratch, { recursive: true, force: true })
  })
  afterEach(async () => {
    await until(() => processesWith(lab.host(0).cacheDir!).length === 0, 'every ssh client and agent of the test to exit')
  })
  const start = usePools()

  /** Compute.start's rejection for these hosts. */
  const refused = (hosts: Array<string | SshHost>) => Compute.start({ backend: 'ssh', hosts }).then(
    async (pool) => {
      await pool.close()
      throw new Error('Compute.start() succeeded')
    },
    (error: unknown) => error as Error & { code: string; host: string },
  )

  it('an unreachable host', async () => {
    const port = await closedPort()
    const error = await refused([lab.host(0, { port })])
    expect(error).toMatchObject({ name: 'SshError', code: 'ERR_SPINDLE_SSH_UNREACHABLE', host: `${lab.host(0).user}@127.0.0.1:${port}` })
    expect(error.message).toContain(`127.0.0.1:${port}`)
    expect(error.message).toMatch(/Connection refused/)
    expect(error.message).toContain('that sshd runs there')
  })

  it('a host that never answers: start gives up at connectTimeout, and no ssh is left running', async () => {
    // Accepts TCP connections and says nothing: ssh waits for a banner that never comes.
    const silent = createServer(() => {}).listen(0, '127.0.0.1')
    await new Promise((resolve) => silent.once('listening', resolve))
    const { port } = silent.address() as { port: number }
    try {
      const started = Date.now()
      const error = await Compute.start({ backend: 'ssh', hosts: [lab.host(0, { port })], ssh: { connectTimeout: 1500 } }).catch((e: Error & { code: string }) => e)
      expect(error).toMatchObject({ code: 'ERR_SPINDLE_SSH_UNREACHABLE', message: expect.stringContaining('within 1500 ms') })
      expect(Date.now() - started, 'start gave up at the connection timeout, not later').toBeLessThan(15_000)
    } finally {
      silent.close()
    }
  })

  it('a refused key', async () => {
    const error = await refused([lab.host(0, { identityFile: lab.strangerKey })])
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_SSH_AUTH' })
    expect(error.message).toContain(`127.0.0.1:${lab.ports[0]}`)
    expect(error.message).toContain('authorized_keys')
  })

  it('an unknown host key: refused by default, accepted (and recorded) only when asked', async () => {
    const knownHosts = join(scratch, 'empty_known_hosts')
    writeFileSync(knownHosts, '')
    const options = ['-o', `UserKnownHostsFile=${knownHosts}`]
    const error = await refused([lab.host(0, { sshOptions: options })])
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_SSH_HOST_KEY' })
    expect(error.message).toContain('acceptNewHostKey')
    expect(readFileSync(knownHosts, 'utf8')).toBe('')
    const pool = await start({ backend: 'ssh', hosts: [lab.host(0, { sshOptions: options, acceptNewHostKey: true })] })
    expect(await pool.run(t.add(1, 1))).toBe(2)
    expect(readFileSync(knownHosts, 'utf8')).toContain(`[127.0.0.1]:${lab.ports[0]}`)
  })

  it('a host without node', async () => {
    const error = await refused([lab.host(0, { node: 'spindle-test-no-such-node' })])
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_SSH_NO_NODE' })
    expect(error.message).toContain('`spindle-test-no-such-node`')
    expect(error.message).toContain("the host's `node` option")
  })

  it('a host with another major version of node', async () => {
    // A Node that reports 18.20.0: the real one, with process.versions.node overridden first.
    const shim = join(scratch, 'node18.cjs')
    writeFileSync(shim, "Object.defineProperty(process.versions, 'node', { value: '18.20.0' })\nObject.defineProperty(process, 'version', { value: 'v18.20.0' })\n")
    const node18 = join(scratch, 'node18')
    writeFileSync(node18, `#!/bin/sh\nexec '${process.execPath}' --require '${shim}' "$@"\n`)
    chmodSync(node18, 0o755)
    const error = await refused([lab.host(0, { node: node18 })])
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_SSH_NODE_VERSION' })
    expect(error.message).toContain('runs Node v18.20.0')
    expect(error.message).toContain(`install Node ${process.versions.node.split('.')[0]}`)
  })

  it('host names with shell metacharacters are refused before anything runs', async () => {
    const marker = join(scratch, 'pwned')
    const bad = [`127.0.0.1;touch ${marker}`, `$(touch ${marker})`, `-oProxyCommand=touch ${marker}`, "a'b", 'host name', `me\`touch ${marker}\`@127.0.0.1`]
    for (const host of bad) {
      const error = await refused([host])
      expect(error, host).toMatchObject({ code: 'ERR_SPINDLE_SSH_INVALID_HOST', host })
      expect(error.message).toContain('user@host[:port]')
    }
    const object = await refused([{ host: '127.0.0.1 && touch x' }])
    expect(object).toMatchObject({ code: 'ERR_SPINDLE_SSH_INVALID_HOST' })
    expect(existsSync(marker)).toBe(false)
  })

  it('strings the remote shell would read are passed through quoted, never run', async () => {
    // A cache directory full of metacharacters: ssh's remote command quotes it, so it is a name.
    const cacheDir = join(scratch, "odd $(touch pwned) 'dir'; `x`")
    const pool = await start({ backend: 'ssh', hosts: [lab.host(0, { cacheDir })] })
    expect(await pool.run(t.add(2, 2))).toBe(4)
    expect(existsSync(join(scratch, 'pwned'))).toBe(false)
    expect(existsSync(cacheDir)).toBe(true)
  })

  it('hosts from an ssh_config, reached through a ProxyJump host: the user\'s own ssh does the work', async () => {
    const config = join(scratch, 'ssh_config_jump')
    const common = [`  User ${lab.host(0).user}`, `  IdentityFile ${lab.identityFile}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${lab.knownHosts}`, '  GlobalKnownHostsFile /dev/null']
    writeFileSync(
      config,
      [`Host spindle-jump`, '  HostName 127.0.0.1', `  Port ${lab.ports[0]}`, ...common, `Host spindle-behind`, '  HostName 127.0.0.1', `  Port ${lab.ports[0]}`, '  ProxyJump spindle-jump', ...common, ''].join('\n'),
    )
    const pool = await start({ backend: 'ssh', hosts: ['spindle-behind'], ssh: { sshOptions: ['-F', config], node: process.execPath, cacheDir: lab.host(0).cacheDir! } })
    const [info] = await pool.broadcast(t.info())
    expect(info).toMatchObject({ peers: ['spindle-behind'], backend: 'ssh' })
    // Two ssh clients on this machine for the one host: ours, and the jump that ssh itself started.
    expect(processesWith('spindle-jump').length).toBeGreaterThanOrEqual(1)
    await pool.close()
    await until(() => processesWith('spindle-jump').length === 0, 'the jump connection to end with the pool')
  })

  it('unknown option keys get a did-you-mean', async () => {
    await expect(Compute.start({ backend: 'ssh', hosts: [{ host: 'a', identityfile: 'k' } as never] })).rejects.toThrow(
      'Unknown option "identityfile" for hosts[0]. Did you mean "identityFile"?',
    )
    await expect(Compute.start({ backend: 'ssh', hosts: ['a'], ssh: { heartbeatTimeot: 1 } as never })).rejects.toThrow('Did you mean "heartbeatTimeout"?')
    await expect(Compute.start({ backend: 'ssh', hosts: [] })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION' })
    await expect(Compute.start({ backend: 'ssh', hosts: ['a'], workers: 2 })).rejects.toThrow('`workers` is not for the SSH backend')
    await expect(Compute.start({ backend: 'thread', hosts: ['a'] })).rejects.toThrow('`hosts` is for the SSH and Redis backends')
  })

  it('one bad host among good ones: start fails, and the good hosts are left with nothing running', async () => {
    const error = await refused([lab.host(0), lab.host(0, { identityFile: lab.strangerKey })])
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_SSH_AUTH' })
    expect(processesWith(lab.host(0).cacheDir!)).toEqual([])
  })

  it('a second run finds the bundle cached, and two hosts on one machine share it', async () => {
    const pool = await start({ backend: 'ssh', hosts: [lab.host(0), lab.host(0)], workersPerNode: 2 })
    const infos = await pool.broadcast(t.info())
    expect(infos.map((i) => [i.node, i.workersPerNode, i.peers])).toEqual([
      [0, 2, [`${lab.host(0).user}@127.0.0.1:${lab.ports[0]}`, `${lab.host(0).user}@127.0.0.1:${lab.ports[0]}`]],
      [1, 2, [`${lab.host(0).user}@127.0.0.1:${lab.ports[0]}`, `${lab.host(0).user}@127.0.0.1:${lab.ports[0]}`]],
    ])
    expect(new Set(infos.map((i) => i.jobId))).toEqual(new Set([pool.jobId]))
    const { readdirSync } = await import('node:fs')
    const entries = readdirSync(lab.host(0).cacheDir!)
    expect(entries).toHaveLength(1) // one content-hashed bundle, no temporary directory left
    expect(await pool.run(gather(t.echo(new Float64Array([1.5, 2])), t.echo(new Map([[1, 'a']]))))).toEqual([new Float64Array([1.5, 2]), new Map([[1, 'a']])])
  })

  it("connects whatever TMPDIR is: ssh's socket path stays under the 104/108-byte limit (macOS's TMPDIR is ~49 characters)", async () => {
    const long = join(scratch, 'a-temporary-directory-as-long-as-they-come-'.padEnd(90, 'x'))
    mkdirSync(long, { recursive: true })
    const saved = process.env.TMPDIR
    process.env.TMPDIR = long
    try {
      const pool = await start({ backend: 'ssh', hosts: [lab.host(0), lab.host(0)] })
      expect(await pool.broadcast(t.add(1, 2))).toEqual([3, 3])
    } finally {
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
    }
  })

  it('a task module travels with the files it imports relatively; a TypeScript one, compiled with them', async () => {
    const pool = await start({ backend: 'ssh', hosts: [lab.host(0)] })
    const relative = remote<typeof Relative>(new URL('../fixtures/relative/tasks.mjs', import.meta.url))
    const typed = remote<typeof Typed>(new URL('../fixtures/relative/typed.ts', import.meta.url))
    expect(await pool.run(gather(relative.scaled(4), relative.twiceLater(3), typed.labelled(5)))).toEqual([41, [3, 3], '#5'])
  })

  it("forwards a task's output line by line with the host's prefix, stdout to stdout", async () => {
    const { stderr, stdout } = await promisify(execFile)(process.execPath, [child, 'ssh-output', JSON.stringify([lab.host(0)])], { timeout: 30_000 })
    expect(stdout).toBe('[host 0] hello from a task\n')
    expect(stderr).not.toContain('hello from a task')
  })
})

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
