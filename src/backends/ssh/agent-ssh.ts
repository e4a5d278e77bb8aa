/**
 * The node agent on an SSH host: the agent host (agent/agent-host.ts) speaking frames on
 * stdin/stdout. The bootstrap (bootstrap-script.ts) imports it once the bundle is in place.
 *
 * stdout is the protocol channel, so everything else that would write there (console.log in a
 * task, on any thread) is sent to stderr, which the caller forwards line by line. The agent stops
 * itself when the caller is gone: stdin ends (the SSH connection closed) or nothing, not even a
 * heartbeat, arrived for `callerTimeout` (a dead link that TCP has not noticed, a caller frozen
 * for good).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startAgentHost, type ModuleMap } from '../agent/agent-host.js'
import type { ToAgent } from '../../protocol/messages.js'
import { encodeFrame, FrameReader, PROTOCOL, type CallerFrame, type ConfigFrame, type ModuleFrame } from './frames.js'

const protocolOut = process.stdout
const writeProtocol = protocolOut.write.bind(protocolOut)
// Worker threads' stdout is piped into this stream: send it (and console.log here) to stderr.
process.stdout.write = ((chunk: never, ...rest: never[]) => process.stderr.write(chunk, ...rest)) as typeof process.stdout.write
const send = (message: unknown) => writeProtocol(encodeFrame(message))

const BUNDLE = fileURLToPath(new URL('../../../../../', import.meta.url))
const OWN_DIST = new URL('../../', import.meta.url).href
const toCaller = new Map<string, string>()
const toAgent = new Map<string, string>()
let callerDist = ''
const modules: ModuleMap = {
  toAgent: (url) => toAgent.get(url) ?? (callerDist !== '' && url.startsWith(callerDist) ? OWN_DIST + url.slice(callerDist.length) : url),
  toCaller: (url) => toCaller.get(url) ?? (url.startsWith(OWN_DIST) ? callerDist + url.slice(OWN_DIST.length) : url),
}

let receive: ((message: ToAgent) => void) | undefined
let lastHeard = Date.now()

const reader = new FrameReader((frame) => {
  lastHeard = Date.now()
  const message = frame as CallerFrame
  if (message === null) return // heartbeat
  if (receive !== undefined && (Array.isArray(message) || !('ship' in message || 'config' in message))) {
    return receive(message as ToAgent)
  }
  if ('ship' in message) {
    try {
      return ship(message)
    } catch (error) {
      // Left unmapped, the module's calls fail to load it, naming it; this line says why.
      process.stderr.write(`spindle agent: cannot write task module ${message.ship} into the cache: ${(error as Error).message}\n`)
      return
    }
  }
  if ('config' in message) return configure(message)
})
process.stdin.on('data', (chunk: Buffer) => reader.push(chunk))
// The caller is gone (its SSH connection closed): no process may be left behind.
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
protocolOut.on('error', () => process.exit(0))

function configure(frame: ConfigFrame): void {
  if (frame.protocol !== PROTOCOL) {
    process.stderr.write(`spindle agent: the caller speaks protocol ${frame.protocol}, this agent ${PROTOCOL}; exiting\n`)
    process.exit(2)
  }
  callerDist = frame.dist
  receive = startAgentHost(frame.config, send, modules)
  setInterval(() => {
    if (Date.now() - lastHeard > frame.callerTimeout) {
      process.stderr.write(`spindle agent: nothing from the caller for ${frame.callerTimeout} ms; exiting\n`)
      process.exit(0)
    }
    send(null)
  }, frame.heartbeatInterval)
  send({ ready: true, pid: process.pid, protocol: PROTOCOL, node: process.version })
}

/** Writes a task module into the bundle's tasks/ (content-addressed: a file there never changes). */
function ship(frame: ModuleFrame): void {
  const file = join(BUNDLE, 'tasks', frame.path)
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true })
    const temp = `${file}.${process.pid}.tmp`
    try {
      writeFileSync(temp, frame.source)
      renameSync(temp, file) // atomic: another agent never sees half a module
    } catch (error) {
      rmSync(temp, { force: true })
      throw error
    }
  }
  const url = pathToFileURL(file).href
  toAgent.set(frame.ship, url)
  toCaller.set(url, frame.ship)
}
