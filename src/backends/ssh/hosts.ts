/**
 * SSH hosts as the user gives them (`'alice@10.0.0.5:2222'` or an object), checked before any
 * connection: a host, user or port that could be read as an ssh option or by a shell is refused
 * here, with the host named and the fix, rather than passed on.
 */
import { InvalidOptionError, SshError } from '../../errors.js'
import { checkDuration, checkInteger, checkKnownKeys, shown } from '../../options.js'

export interface SshHost {
  /** Host name, IP address or an alias of your ~/.ssh/config. */
  host: string
  /** Login name. @default the ssh client's (your ~/.ssh/config, or your local user) */
  user?: string
  /** @default the ssh client's (22, or your ~/.ssh/config) */
  port?: number
  /** Private key file (`ssh -i`). @default the ssh client's (agent, ~/.ssh/config, default keys) */
  identityFile?: string
  /** More ssh arguments, placed before the host: `['-F', 'ssh_config', '-o', 'UserKnownHostsFile=kh']`. */
  sshOptions?: string[]
  /** Accept (and record) the host key of a host never seen before (`StrictHostKeyChecking=accept-new`). @default false */
  acceptNewHostKey?: boolean
  /** The node executable on the host. @default 'node' (found on the PATH of a non-interactive login) */
  node?: string
  /** Where the host keeps spindle's bundles; `~/` is the remote home. @default '~/.cache/spindle' */
  cacheDir?: string
}

/** What every host gets unless it says otherwise. */
export type SshHostDefaults = Pick<SshHost, 'identityFile' | 'sshOptions' | 'acceptNewHostKey' | 'node' | 'cacheDir'>

export interface SshOptions extends SshHostDefaults {
  /** How often each side says it is alive, in ms. @default 1000 */
  heartbeatInterval?: number
  /**
   * Silence after which a host is taken for lost, in ms. The agent on a host waits 6× as long
   * for the caller, whose main thread your own code may keep busy. @default 5000
   */
  heartbeatTimeout?: number
  /** How long connecting and starting the agent on a host may take, in ms. @default 30000 */
  connectTimeout?: number
  /**
   * Reconnect to a lost host, with doubling delays (`delay`, 2×, 4×, ...), up to `attempts` times.
   * `false`: a lost host stays lost; its calls run on the other hosts. @default false
   */
  reconnect?: boolean | { attempts?: number; delay?: number }
}

/** A host with every default filled in. */
export interface ResolvedHost {
  /** As the user wrote it, for messages and `instanceInfo().peers`. */
  readonly name: string
  readonly host: string
  readonly user: string | undefined
  readonly port: number | undefined
  readonly identityFile: string | undefined
  readonly sshOptions: readonly string[]
  readonly acceptNewHostKey: boolean
  readonly node: string
  readonly cacheDir: string
}

export interface ResolvedSshOptions {
  readonly heartbeatInterval: number
  readonly heartbeatTimeout: number
  readonly connectTimeout: number
  readonly reconnect: { readonly attempts: number; readonly delay: number }
}

const HOST_KEYS = ['host', 'user', 'port', 'identityFile', 'sshOptions', 'acceptNewHostKey', 'node', 'cacheDir']
const DEFAULT_KEYS = ['identityFile', 'sshOptions', 'acceptNewHostKey', 'node', 'cacheDir'] as const
const SSH_KEYS = ['heartbeatInterval', 'heartbeatTimeout', 'connectTimeout', 'reconnect', ...DEFAULT_KEYS]
// A DNS name, an IPv4 address or an alias; IPv6 in brackets. Nothing a shell or ssh's option
// parser could read as anything else (no leading '-', no spaces, quotes, ;, $, `, |, &, ...).
const HOST_NAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$/
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

export function resolveHosts(hosts: unknown, options: SshOptions = {}): ResolvedHost[] {
  if (!Array.isArray(hosts) || hosts.length === 0) {
    throw new InvalidOptionError(
      `Expected \`hosts\` to be a non-empty array of 'user@host[:port]' strings or { host, ... } objects, got ${shown(hosts)}`,
    )
  }
  const defaults: SshHostDefaults = {}
  for (const key of DEFAULT_KEYS) if (options[key] !== undefined) (defaults as Record<string, unknown>)[key] = options[key]
  return hosts.map((entry: unknown, i) => resolveHost(entry, i, defaults))
}

function resolveHost(entry: unknown, i: number, defaults: SshHostDefaults): ResolvedHost {
  if (typeof entry === 'string') return check(entry, parseSpec(entry), defaults)
  if (typeof entry !== 'object' || entry === null) {
    throw new InvalidOptionError(`Expected \`hosts[${i}]\` to be a 'user@host[:port]' string or a { host } object, got ${shown(entry)}`)
  }
  checkKnownKeys(`hosts[${i}]`, entry, HOST_KEYS)
  const given = entry as SshHost
  if (typeof given.host !== 'string') throw new InvalidOptionError(`Expected \`hosts[${i}].host\` to be a string, got ${shown(given.host)}`)
  const name = `${typeof given.user === 'string' ? `${given.user}@` : ''}${given.host}${given.port !== undefined ? `:${String(given.port)}` : ''}`
  // The host's own ssh arguments first: for ssh the first value given for an option wins.
  const own = given.sshOptions ?? []
  const shared = defaults.sshOptions ?? []
  const sshOptions = Array.isArray(own) && Array.isArray(shared) ? [...own, ...shared] : Array.isArray(own) ? shared : own // a bad one is reported by check()
  return check(name, { host: given.host, user: given.user, port: given.port }, { ...defaults, ...given, sshOptions }, i)
}

function parseSpec(spec: string): { host: string; user: string | undefined; port: number | undefined } {
  const at = spec.lastIndexOf('@')
  const user = at === -1 ? undefined : spec.slice(0, at)
  let host = spec.slice(at + 1)
  let port: number | undefined
  const colon = /:(\d+)$/.exec(host)
  if (colon !== null && (!host.includes('[') || host.includes(']:'))) {
    port = Number(colon[1])
    host = host.slice(0, colon.index)
  }
  return { host, user, port }
}

function check(
  name: string,
  target: { host: string; user: string | undefined; port: number | undefined },
  given: Partial<SshHost>,
  i?: number,
): ResolvedHost {
  const where = i === undefined ? `"${name}"` : `hosts[${i}] ("${name}")`
  const refuse = (what: string) =>
    new SshError(
      'ERR_SPINDLE_SSH_INVALID_HOST',
      `SSH host ${where}: ${what}. Write hosts as user@host[:port] with a plain host name or address ` +
        '(letters, digits, ".", "-", "_"), or an alias from your ~/.ssh/config.',
      name,
    )
  if (!HOST_NAME.test(target.host)) throw refuse(`${JSON.stringify(target.host)} is not a host name or address`)
  if (target.user !== undefined && (typeof target.user !== 'string' || !USER_NAME.test(target.user))) {
    throw refuse(`${shown(target.user)} is not a user name`)
  }
  if (target.port !== undefined && (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535)) {
    throw refuse(`port ${shown(target.port)} is not an integer from 1 to 65535`)
  }
  const strings = (key: keyof SshHost) => {
    const value = given[key]
    if (value !== undefined && (typeof value !== 'string' || value === '' || value.includes('\0'))) {
      throw new InvalidOptionError(`Expected \`${key}\` of SSH host ${where} to be a non-empty string, got ${shown(value)}`)
    }
  }
  strings('identityFile')
  strings('node')
  strings('cacheDir')
  const extra = given.sshOptions ?? []
  if (!Array.isArray(extra) || extra.some((a) => typeof a !== 'string')) {
    throw new InvalidOptionError(`Expected \`sshOptions\` of SSH host ${where} to be an array of strings, got ${shown(extra)}`)
  }
  if (given.acceptNewHostKey !== undefined && typeof given.acceptNewHostKey !== 'boolean') {
    throw new InvalidOptionError(`Expected \`acceptNewHostKey\` of SSH host ${where} to be a boolean, got ${shown(given.acceptNewHostKey)}`)
  }
  return {
    name,
    host: target.host,
    user: target.user,
    port: target.port,
    identityFile: given.identityFile,
    sshOptions: [...extra],
    acceptNewHostKey: given.acceptNewHostKey ?? false,
    node: given.node ?? 'node',
    cacheDir: given.cacheDir ?? '~/.cache/spindle',
  }
}

export function resolveSshOptions(options: SshOptions | undefined): ResolvedSshOptions {
  const given = options ?? {}
  checkKnownKeys('the `ssh` option', given, SSH_KEYS)
  const { heartbeatInterval = 1000, heartbeatTimeout = 5000, connectTimeout = 30_000, reconnect = false } = given
  checkDuration('ssh.heartbeatInterval', heartbeatInterval)
  checkDuration('ssh.heartbeatTimeout', heartbeatTimeout)
  checkDuration('ssh.connectTimeout', connectTimeout)
  if (heartbeatTimeout <= heartbeatInterval) {
    throw new InvalidOptionError(
      `Expected \`ssh.heartbeatTimeout\` (${heartbeatTimeout}) to be longer than \`ssh.heartbeatInterval\` (${heartbeatInterval}): ` +
        'a host must have the chance to say it is alive. Use at least 3 intervals.',
    )
  }
  if (typeof reconnect === 'boolean') return { heartbeatInterval, heartbeatTimeout, connectTimeout, reconnect: { attempts: reconnect ? 5 : 0, delay: 500 } }
  if (typeof reconnect !== 'object' || reconnect === null) {
    throw new InvalidOptionError(`Expected \`ssh.reconnect\` to be a boolean or { attempts, delay }, got ${shown(reconnect)}`)
  }
  checkKnownKeys('`ssh.reconnect`', reconnect, ['attempts', 'delay'])
  const { attempts = 5, delay = 500 } = reconnect
  checkInteger('ssh.reconnect.attempts', attempts, 0)
  checkDuration('ssh.reconnect.delay', delay)
  return { heartbeatInterval, heartbeatTimeout, connectTimeout, reconnect: { attempts, delay } }
}
