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
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startAgentHost } from '../agent/agent-host.js'
import { ModuleCache, ShippedModules } from '../agent/module-cache.js'
import type { ToAgent } from '../../protocol/messages.js'
import { encodeFrame, FrameReader, PROTOCOL, type CallerFrame, type ConfigFrame, type ModuleFrame } from './frames.js'

const protocolOut = process.stdout
const writeProtocol = protocolOut.write.bind(protocolOut)
// Worker threads' stdout is piped into this stream: send it (and console.log here) to stderr.
process.stdout.write = ((chunk: never, ...rest: never[]) => process.stderr.write(chunk, ...rest)) as typeof process.stdout.write
const send = (message: unknown) => writeProtocol(encodeFrame(message))

/** The bundle's tasks/ (content-addressed), where `import 'spindle'` finds the bundle's own copy. */
const cache = new ModuleCache(join(fileURLToPath(new URL('../../../../../', import.meta.url)), 'tasks'))
const modules = new ShippedModules()

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
      return modules.add(message.ship, cache.write(message.path, message.source))
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
  modules.setCallerDist(frame.dist)
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
