/**
 * Why a host could not be used, from what ssh and the host said before the agent was up: each
 * case has its own code and its own fix (SPEC: a clear error before any work, naming the host).
 */
import { SshError, type SshErrorCode } from '../../errors.js'
import type { ResolvedHost } from './hosts.js'

export interface BootFailure {
  /** ssh's exit code (255: ssh itself failed; 127: the command was not found; 3: another Node major). */
  readonly exitCode: number | null
  readonly signal: string | null
  /** The last lines ssh and the host wrote on stderr. */
  readonly stderr: string
  /** The `node` version the host reported, when it got that far. */
  readonly remoteNode: string | undefined
  readonly timedOut: number | undefined
}

export function diagnose(host: ResolvedHost, seen: BootFailure): SshError {
  const where = `SSH host ${host.name}`
  const said = seen.stderr.trim() === '' ? '' : ` ssh said: ${seen.stderr.trim().split('\n').slice(-3).join(' | ')}.`
  const error = (code: SshErrorCode, what: string, fix: string) => new SshError(code, `${where}: ${what}.${said} ${fix}`, host.name)
  const text = seen.stderr
  const ssh = sshCommandLine(host, ['-o', 'BatchMode=yes'])
  const bare = host.host.replace(/^\[(.*)\]$/, '$1')
  if (seen.timedOut !== undefined) {
    return error(
      'ERR_SPINDLE_SSH_UNREACHABLE',
      `did not start a node agent within ${seen.timedOut} ms`,
      `Check that the host is up and reachable (\`${ssh} true\`), or raise \`ssh.connectTimeout\`.`,
    )
  }
  if (/Host key verification failed|host key .*(changed|is not known)|No \S+ host key is known|IDENTIFICATION HAS CHANGED/i.test(text)) {
    return error(
      'ERR_SPINDLE_SSH_HOST_KEY',
      'its host key is not known (or has changed), and host keys are checked strictly',
      `Check the host's key fingerprint and add it to known_hosts (\`ssh-keyscan ${host.port !== undefined ? `-p ${host.port} ` : ''}${bare} >> ~/.ssh/known_hosts\`), ` +
        'or set `acceptNewHostKey: true` on the host to trust a host seen for the first time.',
    )
  }
  if (/Permission denied|Too many authentication failures|no mutual signature/i.test(text)) {
    return error(
      'ERR_SPINDLE_SSH_AUTH',
      'the login was refused',
      "Check `user` and `identityFile`, that the public key is in the host's ~/.ssh/authorized_keys, and that " +
        `\`${ssh} true\` works without a prompt (load passphrase keys into ssh-agent).`,
    )
  }
  if (/Connection refused|Could not resolve|No route to host|timed out|Network is unreachable|Connection reset|Connection closed by|kex_exchange_identification/i.test(text)) {
    return error(
      'ERR_SPINDLE_SSH_UNREACHABLE',
      'could not be reached',
      'Check the host name and port, that sshd runs there, and that no firewall is in the way.',
    )
  }
  if (seen.exitCode === 127 || (seen.remoteNode === undefined && /not found|No such file/i.test(text))) {
    return error(
      'ERR_SPINDLE_SSH_NO_NODE',
      `has no \`${host.node}\` command`,
      `Install Node.js ${process.versions.node.split('.')[0]} there, or give its path as the host's \`node\` option ` +
        "(a non-interactive SSH login may not have the PATH that ~/.bashrc or nvm set up).",
    )
  }
  if (seen.exitCode === 3 && seen.remoteNode !== undefined) {
    return error(
      'ERR_SPINDLE_SSH_NODE_VERSION',
      `runs Node ${seen.remoteNode}, and this program runs ${process.version}`,
      `Nodes need the same major version as the caller (the protocol is Node's own serialization): install Node ` +
        `${process.versions.node.split('.')[0]} on the host, or point the host's \`node\` option at one.`,
    )
  }
  const how = seen.signal !== null ? `was killed by ${seen.signal}` : `exited with code ${seen.exitCode}`
  return error(
    'ERR_SPINDLE_SSH_BOOTSTRAP',
    `the node agent did not start (ssh ${how})`,
    `Run \`${sshCommandLine(host)} ${host.node} --version\` to see what the host says; if its spindle cache may be damaged, remove ${host.cacheDir} there.`,
  )
}

/** How a user would type an ssh command to `host` (a port goes in `-p`: `ssh user@host:22` is not ssh syntax). */
export function sshCommandLine(host: ResolvedHost, options: readonly string[] = []): string {
  const words = ['ssh', ...options]
  if (host.port !== undefined) words.push('-p', String(host.port))
  if (host.identityFile !== undefined) words.push('-i', host.identityFile)
  words.push(host.user !== undefined ? `${host.user}@${host.host.replace(/^\[(.*)\]$/, '$1')}` : host.host.replace(/^\[(.*)\]$/, '$1'))
  return words.join(' ')
}
