// The SSH backend's pure parts: host parsing and checks, the remote command's quoting (checked
// by a real shell), and frames split and joined at any byte.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveHosts, resolveSshOptions } from '../../src/backends/ssh/hosts.js'
import { shellQuote, sshArguments } from '../../src/backends/ssh/command.js'
import { encodeFrame, FrameReader } from '../../src/backends/ssh/frames.js'
import { closeControlDir, controlPath, openControlDir } from '../../src/backends/ssh/control-dir.js'
import { diagnose } from '../../src/backends/ssh/diagnose.js'
import { bundle } from '../../dist/backends/ssh/bundle.js'
import { deserialize } from 'node:v8'
import { gunzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { prng } from '../helpers/testing.js'

describe('SSH hosts', () => {
  it('parses user@host[:port] strings, aliases and bracketed IPv6', () => {
    const [a, b, c, d] = resolveHosts(['alice@10.0.0.5:2222', 'gpu1', 'bob@[::1]:22', '[fe80::1]'])
    expect([a, b, c, d].map((h) => [h!.name, h!.user, h!.host, h!.port])).toEqual([
      ['alice@10.0.0.5:2222', 'alice', '10.0.0.5', 2222],
      ['gpu1', undefined, 'gpu1', undefined],
      ['bob@[::1]:22', 'bob', '[::1]', 22],
      ['[fe80::1]', undefined, '[fe80::1]', undefined],
    ])
  })

  it('applies `ssh` settings to every host, the host\'s own first', () => {
    const [h] = resolveHosts([{ host: 'a', sshOptions: ['-o', 'Port=1'], node: '/opt/node' }], { sshOptions: ['-F', 'cfg'], node: 'n', cacheDir: '/c' })
    expect(h).toMatchObject({ sshOptions: ['-o', 'Port=1', '-F', 'cfg'], node: '/opt/node', cacheDir: '/c', name: 'a' })
  })

  it.each([
    'a;b', 'a b', '$(id)', '`id`', '-oProxyCommand=x', 'a|b', 'a&b', "a'b", 'a"b', 'a\nb', 'a>b', '', 'x@', '@x', 'a@b@c', 'a:99999', 'a:0',
  ])('refuses %j with ERR_SPINDLE_SSH_INVALID_HOST', (spec) => {
    expect(() => resolveHosts([spec])).toThrow(expect.objectContaining({ code: 'ERR_SPINDLE_SSH_INVALID_HOST', host: spec }))
  })

  it('checks option types and values, p-map style', () => {
    expect(() => resolveHosts([{ host: 'a', port: '22' } as never])).toThrow(/port `"22"` \(string\)/)
    expect(() => resolveHosts([{ host: 'a', sshOptions: '-F x' } as never])).toThrow('Expected `sshOptions` of SSH host hosts[0] ("a") to be an array of strings')
    expect(() => resolveHosts('a')).toThrow('Expected `hosts` to be a non-empty array')
    expect(() => resolveSshOptions({ heartbeatInterval: 1000, heartbeatTimeout: 500 })).toThrow('longer than `ssh.heartbeatInterval`')
    expect(() => resolveSshOptions({ reconnect: { attempt: 2 } as never })).toThrow('Did you mean "attempts"?')
    expect(resolveSshOptions({ reconnect: true }).reconnect).toEqual({ attempts: 5, delay: 500 })
    expect(resolveSshOptions({}).reconnect.attempts).toBe(0)
  })
})

describe('the remote command', () => {
  it('quotes any string so that sh reads it back unchanged', () => {
    const random = prng(7)
    const samples = ["plain", "it's", "'", "''", "$(touch x) `id` ; | & > < * ? ~ \\ \" \n\t", "~/.cache/spindle", "-e"]
    for (let i = 0; i < 20; i++) samples.push(Array.from({ length: 12 }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join(''))
    for (const word of samples) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' })).toBe(word)
    }
  })

  it('puts the user\'s ssh arguments first, strict host keys unless asked, -- before the host', () => {
    const [host] = resolveHosts([{ host: 'h', user: 'u', port: 2, identityFile: '/k', sshOptions: ['-o', 'StrictHostKeyChecking=no'] }])
    const args = sshArguments(host!, { controlPath: '/tmp/cm/0', heartbeatInterval: 1000, connectTimeout: 30_000, bundleHash: 'abc', agent: 'x.js' })
    expect(args.slice(0, 6)).toEqual(['-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o'])
    expect(args).toContain('StrictHostKeyChecking=yes')
    expect(args).toContain('ControlPath=/tmp/cm/0')
    expect(args).toContain('ServerAliveInterval=1')
    expect(args.slice(-3, -1)).toEqual(['--', 'h'])
    expect(args.at(-1)!.startsWith("'node' '-e' '")).toBe(true)
    const [trusting] = resolveHosts([{ host: 'h', acceptNewHostKey: true }])
    expect(sshArguments(trusting!, { controlPath: '/c/0', heartbeatInterval: 1000, connectTimeout: 1, bundleHash: 'a', agent: 'x' })).toContain('StrictHostKeyChecking=accept-new')
  })
})

describe('frames', () => {
  it('come out whole and in order however the stream splits them', () => {
    const messages = [null, [undefined, 1, 7, 3, [1, 2]], { done: [0.5, undefined, 1, new Float64Array([1, 2])] }, 'x'.repeat(70_000), new Map([[1, 2n]])]
    const bytes = Buffer.concat(messages.map(encodeFrame))
    const random = prng(3)
    for (let round = 0; round < 50; round++) {
      const seen: unknown[] = []
      const reader = new FrameReader((m) => seen.push(m))
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * (round % 2 === 0 ? 7 : 20_000))
        reader.push(bytes.subarray(at, at + size))
        at += size
      }
      expect(seen).toEqual(messages)
    }
  })
})

describe('ControlMaster sockets', () => {
  const saved = process.env.TMPDIR
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved
  })
  /** The longest path ssh binds for a node: the ControlPath plus its 17-character temporary suffix. */
  const longest = (dir: string, nodes: number) => controlPath(dir, nodes - 1).length + 17

  it('fit the socket path limit whatever TMPDIR is (macOS gives ~49 characters, Linux allows 108 bytes, macOS 104)', () => {
    const deep = join('/tmp', 'spindle-long-tmpdir-'.padEnd(70, 'x'))
    mkdirSync(deep, { recursive: true })
    try {
      for (const tmp of ['/tmp', join(deep, 'T'.padEnd(10, 'T')).slice(0, 49), deep]) {
        mkdirSync(tmp, { recursive: true })
        process.env.TMPDIR = tmp
        const dir = openControlDir(1000)
        try {
          expect(longest(dir, 1000), dir).toBeLessThanOrEqual(103)
          // Under TMPDIR whenever it fits there.
          if (join(tmp, 'spindle-ssh-XXXXXX').length + 4 + 17 <= 103) expect(dir.startsWith(tmp + '/')).toBe(true)
          else expect(dir.startsWith('/tmp/spindle-ssh-')).toBe(true)
        } finally {
          closeControlDir(dir)
        }
        expect(existsSync(dir)).toBe(false)
      }
    } finally {
      rmSync(deep, { recursive: true, force: true })
    }
  })
})

describe('diagnosis', () => {
  it('suggests commands in ssh\'s own syntax: a port goes in -p, not host:port', () => {
    const [host] = resolveHosts(['root@127.0.0.1:42223'])
    const error = diagnose(host!, { exitCode: 1, signal: null, stderr: '', remoteNode: undefined, timedOut: undefined })
    expect(error.code).toBe('ERR_SPINDLE_SSH_BOOTSTRAP')
    expect(error.message).toContain('Run `ssh -p 42223 root@127.0.0.1 node --version`')
    expect(error.message).not.toContain('127.0.0.1:42223 node')
    const refused = diagnose(host!, { exitCode: 255, signal: null, stderr: 'Permission denied (publickey).', remoteNode: undefined, timedOut: undefined })
    expect(refused.message).toContain('`ssh -o BatchMode=yes -p 42223 root@127.0.0.1 true` works without a prompt')
    const unknownKey = diagnose(host!, { exitCode: 255, signal: null, stderr: 'Host key verification failed.', remoteNode: undefined, timedOut: undefined })
    expect(unknownKey.message).toContain('`ssh-keyscan -p 42223 127.0.0.1 >> ~/.ssh/known_hosts`')
  })
})

describe('the bundle a host gets', () => {
  it("holds only what a host runs (no esbuild, no tsx), and is as small as the README says", () => {
    const { archive } = bundle()
    const files = deserialize(gunzipSync(archive)) as Array<[string, Buffer, number]>
    const packages = new Set(files.map(([path]) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1]))
    expect([...packages].filter((p) => p === 'esbuild' || p === 'tsx' || p?.startsWith('@esbuild/'))).toEqual([])
    for (const needed of ['spindle', 'piscina', 'acorn', 'fast-glob']) expect(packages.has(needed)).toBe(true)
    const unpacked = files.reduce((sum, [, content]) => sum + content.length, 0)
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const [, sent, size] = /about ([\d.]+) MB sent, ([\d.]+) MB unpacked/.exec(readme)!.map(Number)
    const mb = (bytes: number) => bytes / 1e6
    expect(Math.abs(mb(archive.length) - sent!) / sent!, `sent ${mb(archive.length)} MB`).toBeLessThan(0.3)
    expect(Math.abs(mb(unpacked) - size!) / size!, `unpacked ${mb(unpacked)} MB`).toBeLessThan(0.3)
  })
})
