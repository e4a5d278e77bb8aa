// The Redis backend on a broker that wants TLS and an ACL user, as a managed Redis does: a
// redis-server of the test's own with a certificate from a private CA (made here with openssl),
// no plain port, and `default` off. The caller passes the CA as `redis.tls`, the worker process
// trusts it through NODE_EXTRA_CA_CERTS. A wrong password, and a user whose ACL does not cover the
// pool's keys, fail at start with a stable code instead of waiting; so does a broker not there.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { Compute } from 'spindle'
import { tasks as t } from '../helpers/pools.js'
import { runRedisTests, spawnRedisWorker } from '../helpers/redis.js'

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

describe.runIf(runRedisTests && hasOpenssl)('the Redis backend over TLS, as an ACL user', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-redis-tls-'))
  const file = (name: string) => join(dir, name)
  let server: ChildProcess
  let port: number
  const children: ChildProcess[] = []
  const url = (user: string, password: string) => `rediss://${user}:${password}@127.0.0.1:${port}`

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=spindle test CA')
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
    writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n')
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext')
    port = await freePort()
    writeFileSync(
      file('redis.conf'),
      [
        'port 0',
        `tls-port ${port}`,
        'bind 127.0.0.1',
        `tls-cert-file ${file('server.pem')}`,
        `tls-key-file ${file('server.key')}`,
        `tls-ca-cert-file ${file('ca.pem')}`,
        'tls-auth-clients no',
        'save ""',
        'appendonly no',
        `dir ${dir}`,
        'user default off',
        'user batch on >batch-secret ~spindle:{secure}:* &* +@all',
        'user other on >other-secret ~spindle:{other}:* &* +@all',
        'user caller on >caller-secret ~spindle:{secure}:* &* +@all',
        'user admin on >admin-secret ~* &* +@all',
      ].join('\n'),
    )
    server = spawn('redis-server', [file('redis.conf')], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      let log = ''
      server.stdout!.on('data', (chunk: Buffer) => {
        log += chunk.toString()
        if (log.includes('Ready to accept connections')) resolve()
      })
      server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${log}`)))
    })
  })
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL')
    if (server !== undefined && server.exitCode === null) {
      const gone = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGTERM')
      await gone
    }
    rmSync(dir, { recursive: true, force: true })
  })

  const tls = () => ({ ca: readFileSync(file('ca.pem')) })

  it('runs calls over rediss:// as the pool’s ACL user', async () => {
    const worker = await spawnRedisWorker(url('batch', 'batch-secret'), 'secure', { env: { NODE_EXTRA_CA_CERTS: file('ca.pem') } })
    children.push(worker.child)
    await using compute = await Compute.start({ backend: 'redis', redis: { url: url('batch', 'batch-secret'), tls: tls(), heartbeatMs: 200 }, pool: 'secure', minNodes: 1 })
    expect(await compute.run(t.add(2, 3))).toBe(5)
    expect((await compute.run(t.info())).backend).toBe('redis')
  })

  it('a batch the broker refuses mid-run (the caller’s ACL changed) fails its calls with ERR_SPINDLE_REDIS_REFUSED, and the pool goes on', async () => {
    const worker = await spawnRedisWorker(url('batch', 'batch-secret'), 'secure', { env: { NODE_EXTRA_CA_CERTS: file('ca.pem') } })
    children.push(worker.child)
    const admin = new Redis(url('admin', 'admin-secret'), { tls: tls() })
    try {
      await using compute = await Compute.start({ backend: 'redis', redis: { url: url('caller', 'caller-secret'), tls: tls(), heartbeatMs: 200 }, pool: 'secure', minNodes: 1 })
      expect(await compute.run(t.add(1, 1))).toBe(2)
      await admin.call('ACL', 'SETUSER', 'caller', '-xadd')
      await expect(compute.run(t.add(2, 2))).rejects.toMatchObject({ code: 'ERR_SPINDLE_REDIS_REFUSED', message: expect.stringContaining('NOPERM') })
      await admin.call('ACL', 'SETUSER', 'caller', '+xadd')
      expect(await compute.run(t.add(3, 3))).toBe(6)
    } finally {
      await admin.call('ACL', 'SETUSER', 'caller', '+xadd')
      admin.disconnect()
    }
  })

  it('a wrong password fails Compute.start at once with ERR_SPINDLE_REDIS_DENIED, the password not in the message', async () => {
    const started = Compute.start({ backend: 'redis', redis: { url: url('batch', 'not-the-secret'), tls: tls() }, pool: 'secure', startTimeout: 60_000 })
    const error = await started.then(() => undefined, (e: unknown) => e as Error & { code: string })
    expect(error).toMatchObject({ code: 'ERR_SPINDLE_REDIS_DENIED' })
    expect(error!.message).toContain('WRONGPASS')
    expect(error!.message).not.toContain('not-the-secret')
  })

  it('a user whose ACL covers another pool is refused on this one (ERR_SPINDLE_REDIS_DENIED, NOPERM)', async () => {
    const started = Compute.start({ backend: 'redis', redis: { url: url('other', 'other-secret'), tls: tls() }, pool: 'secure' })
    await expect(started).rejects.toMatchObject({ code: 'ERR_SPINDLE_REDIS_DENIED', message: expect.stringContaining('NOPERM') })
  })

  it('a worker with a wrong password exits with the same error instead of waiting', async () => {
    const worker = spawnRedisWorker(url('batch', 'wrong'), 'secure', { env: { NODE_EXTRA_CA_CERTS: file('ca.pem') } })
    await expect(worker).rejects.toThrow(/exited with 1/)
  })

  it('a broker that is not there fails Compute.start after startTimeout with ERR_SPINDLE_REDIS_UNREACHABLE', async () => {
    const closed = await freePort()
    const started = Compute.start({ backend: 'redis', redis: { url: `redis://127.0.0.1:${closed}` }, pool: 'secure', startTimeout: 500 })
    await expect(started).rejects.toMatchObject({ code: 'ERR_SPINDLE_REDIS_UNREACHABLE', message: expect.stringContaining('ECONNREFUSED') })
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}
