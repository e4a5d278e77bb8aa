/**
 * The ssh command line for a host, and the command it runs there. ssh is spawned without a
 * shell, so the local side never parses anything; the remote side does (ssh hands the command
 * to the login shell as one string), so every word of it is single-quoted here and nothing the
 * user gave reaches that shell unquoted.
 */
import type { ResolvedHost } from './hosts.js'

/** A word for a POSIX shell: single-quoted, with each ' written as '\''. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/**
 * The first thing that runs on the host: one line of CommonJS for the host's `node -e`. It says
 * which Node it is and whether the bundle is cached, exits 3 on another major version, reads the
 * bundle from stdin if it is missing (a 4-byte length, then the archive), unpacks it into a
 * temporary directory renamed into place (atomic: concurrent runs never see half a bundle), and
 * imports the agent in the same process (one Node start-up, not two).
 */
const BOOT = [
  "const fs=require('fs'),path=require('path'),os=require('os'),zlib=require('zlib'),v8=require('v8'),url=require('url')",
  'const [given,hash,major,agent]=process.argv.slice(1)',
  "const dir=given==='~'?os.homedir():given.startsWith('~/')?path.join(os.homedir(),given.slice(2)):path.resolve(os.homedir(),given)",
  'const root=path.join(dir,hash)',
  "const have=fs.existsSync(path.join(root,'.complete'))",
  "process.stdout.write('spindle-boot '+process.version+' '+(have?'have':'need')+'\\n')",
  "if(process.versions.node.split('.')[0]!==major)process.exit(3)",
  'function take(n){const b=Buffer.alloc(n);let got=0;while(got<n){let r=0;' +
    "try{r=fs.readSync(0,b,got,n-got,null)}catch(e){if(e.code!=='EAGAIN')throw e;Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,2);continue}" +
    'if(r===0)process.exit(0);got+=r}return b}',
  'if(!have){const n=take(4).readUInt32BE(0);const files=v8.deserialize(zlib.gunzipSync(take(n)));' +
    "const tmp=root+'.tmp-'+process.pid;for(const [rel,data,mode] of files){const f=path.join(tmp,rel);fs.mkdirSync(path.dirname(f),{recursive:true});fs.writeFileSync(f,data,{mode})}" +
    "fs.writeFileSync(path.join(tmp,'.complete'),'');" +
    "try{fs.renameSync(tmp,root)}catch(e){fs.rmSync(tmp,{recursive:true,force:true});if(!fs.existsSync(path.join(root,'.complete')))throw e}}",
  'import(url.pathToFileURL(path.join(root,agent)).href)',
].join(';')

export interface SshCommandOptions {
  /** The master's socket: short (see control-dir.ts). */
  readonly controlPath: string
  readonly heartbeatInterval: number
  readonly connectTimeout: number
  readonly bundleHash: string
  readonly agent: string
}

/** ssh's arguments: our defaults, the user's `sshOptions` (which can override them), the host, the command. */
export function sshArguments(host: ResolvedHost, options: SshCommandOptions): string[] {
  const major = process.versions.node.split('.')[0]!
  const remote = [host.node, '-e', BOOT, host.cacheDir, options.bundleHash, major, options.agent].map(shellQuote).join(' ')
  const alive = Math.max(1, Math.round(options.heartbeatInterval / 1000))
  return [
    '-T', // no terminal: stdin and stdout are the protocol's bytes
    '-o', 'BatchMode=yes', // never prompt (there is nobody to answer): fail, and say why
    ...host.sshOptions, // first: for ssh the first value given for an option wins
    '-o', `StrictHostKeyChecking=${host.acceptNewHostKey ? 'accept-new' : 'yes'}`,
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${options.controlPath}`,
    '-o', 'ControlPersist=no', // the master is this session: it leaves nothing behind when it ends
    '-o', `ServerAliveInterval=${alive}`,
    '-o', 'ServerAliveCountMax=3',
    '-o', `ConnectTimeout=${Math.max(1, Math.ceil(options.connectTimeout / 1000))}`,
    ...(host.port !== undefined ? ['-p', String(host.port)] : []),
    ...(host.identityFile !== undefined ? ['-i', host.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    ...(host.user !== undefined ? ['-l', host.user] : []),
    '--',
    host.host.replace(/^\[(.*)\]$/, '$1'), // ssh takes IPv6 addresses bare; brackets only set off a port in `host:port`
    remote,
  ]
}
