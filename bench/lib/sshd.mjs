// A throw-away sshd on 127.0.0.1 for the SSH bench (the tests' lab, test/helpers/sshd.ts, in
// plain JS): a free port, keys made with ssh-keygen, its own authorized_keys and known_hosts;
// ~/.ssh is never read or written. `stop()` kills sshd and removes the directory.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort } from './harness.mjs'

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p))

export async function startSshd() {
  if (SSHD === undefined) throw new Error('sshd is not installed (apt-get install openssh-server openssh-client)')
  const dir = mkdtempSync(join(tmpdir(), 'spindle-bench-sshd-'))
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true })
  for (const key of ['host_key', 'client_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, key)])
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')))
  const port = await freePort()
  const config = join(dir, 'sshd_config')
  writeFileSync(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, `PidFile ${join(dir, 'sshd.pid')}`, 'UsePAM no', 'StrictModes no',
    'PasswordAuthentication no', 'PermitRootLogin yes', 'LogLevel ERROR', ''].join('\n'))
  const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'inherit'] })
  for (const started = Date.now(); ; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - started > 10_000) throw new Error('sshd did not start')
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) break
  }
  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
  const knownHosts = join(dir, 'known_hosts')
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`)
  const sshOptions = ['-F', '/dev/null', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null']
  return {
    dir,
    port,
    /** A host object for spindle, its bundles cached under `cache`. */
    host: (cache = 'cache') => ({ host: '127.0.0.1', port, user: userInfo().username, identityFile: join(dir, 'client_key'),
      node: process.execPath, cacheDir: join(dir, cache), sshOptions }),
    /** Plain ssh arguments to run `command` there (for the raw baseline). */
    sshArgs: (command) => ['-T', '-o', 'BatchMode=yes', ...sshOptions, '-i', join(dir, 'client_key'), '-p', String(port),
      '-l', userInfo().username, '127.0.0.1', command],
    stop: async () => {
      await new Promise((r) => (sshd.once('exit', r), sshd.kill('SIGTERM')))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
