/**
 * A throw-away SSH lab on 127.0.0.1 for tests: sshd instances on free ports (one per host),
 * a host key and a client key made with ssh-keygen, an authorized_keys and a known_hosts of
 * their own in a temp directory. Hosts get `-F /dev/null` and that known_hosts through
 * `sshOptions`, so tests never read or touch ~/.ssh. Nothing here is left running: the sshd
 * processes are stopped by `stop()`, and the directory removed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import type { SshHost } from 'spindle'

// SPINDLE_TEST_SSHD names another sshd (or a missing one, to see the tests fail under SPINDLE_REQUIRE_SSH=1).
export const SSHD = [process.env.SPINDLE_TEST_SSHD ?? '/usr/sbin/sshd', '/usr/bin/sshd']
  .slice(0, process.env.SPINDLE_TEST_SSHD === undefined ? 2 : 1)
  .find((p) => existsSync(p))
const hasCommand = (name: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
/** Why the SSH tests cannot run here ('' when they can). */
export const sshMissing =
  SSHD === undefined ? 'sshd is not installed (apt-get install openssh-server)' : !hasCommand('ssh') || !hasCommand('ssh-keygen') ? 'the OpenSSH client is not installed (apt-get install openssh-client)' : ''
/** CI sets SPINDLE_REQUIRE_SSH=1: there a missing sshd fails the SSH tests instead of skipping them. */
export const sshRequired = process.env.SPINDLE_REQUIRE_SSH === '1'
export const runSshTests = sshMissing === '' || sshRequired
if (sshMissing !== '' && !sshRequired) {
  console.warn(`\n*** SKIPPING the SSH backend's tests: ${sshMissing}. Set SPINDLE_REQUIRE_SSH=1 to make that a failure. ***\n`)
}

export interface SshLab {
  readonly dir: string
  /** A host object for sshd `i` (extra fields override the lab's). */
  host(i: number, extra?: Partial<SshHost>): SshHost
  hosts(count: number, extra?: Partial<SshHost>): SshHost[]
  /** The ports of the sshd instances. */
  readonly ports: readonly number[]
  readonly knownHosts: string
  readonly identityFile: string
  /** Another client key, not in authorized_keys. */
  readonly strangerKey: string
  stop(): Promise<void>
}

export async function startSshLab(count: number): Promise<SshLab> {
  if (sshMissing !== '') throw new Error(`cannot start sshd for the SSH tests: ${sshMissing}`)
  const dir = mkdtempSync(join(tmpdir(), 'spindle-sshd-'))
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true }) // sshd's privilege separation directory
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file])
  keygen(join(dir, 'host_key'))
  keygen(join(dir, 'client_key'))
  keygen(join(dir, 'stranger_key'))
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')))
  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
  const ports: number[] = []
  const servers: ChildProcess[] = []
  for (let i = 0; i < count; i++) {
    const port = await freePort()
    const config = join(dir, `sshd_config_${i}`)
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, `sshd_${i}.pid`)}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'PermitRootLogin yes',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    )
    const sshd = spawn(SSHD!, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
    let said = ''
    sshd.stderr!.on('data', (d: Buffer) => (said += d.toString()))
    servers.push(sshd)
    await listening(port, sshd, () => said)
    ports.push(port)
  }
  const knownHosts = join(dir, 'known_hosts')
  writeFileSync(knownHosts, ports.map((p) => `[127.0.0.1]:${p} ${hostKey}\n`).join(''))
  const identityFile = join(dir, 'client_key')
  const host = (i: number, extra: Partial<SshHost> = {}): SshHost => ({
    host: '127.0.0.1',
    port: ports[i]!,
    user: userInfo().username,
    identityFile,
    node: process.execPath, // CI's Node may not be on a non-interactive login's PATH
    cacheDir: join(dir, 'cache'),
    ...extra,
    // The test's own options first: for ssh the first value given wins.
    sshOptions: [...(extra.sshOptions ?? []), '-F', '/dev/null', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'],
  })
  return {
    dir,
    ports,
    knownHosts,
    identityFile,
    strangerKey: join(dir, 'stranger_key'),
    host,
    hosts: (n, extra) => Array.from({ length: n }, (_, i) => host(i, extra)),
    async stop() {
      await Promise.all(
        servers.map((s) => (s.exitCode !== null || s.signalCode !== null ? undefined : new Promise((r) => (s.once('exit', r), s.kill('SIGTERM'))))),
      )
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function listening(port: number, sshd: ChildProcess, said: () => string): Promise<void> {
  for (const started = Date.now(); ; await new Promise((r) => setTimeout(r, 20))) {
    if (sshd.exitCode !== null) throw new Error(`sshd exited with code ${sshd.exitCode}: ${said()}`)
    if (Date.now() - started > 10_000) throw new Error(`sshd did not listen on port ${port} within 10 s: ${said()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (ok) return
  }
}
