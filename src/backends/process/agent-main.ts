/**
 * The process backend's node agent: the agent host (agent/agent-host.ts) over the IPC channel of the
 * process that forked it. It exits as soon as that channel closes: an agent never outlives the
 * program that started it.
 */
import { startAgentHost, type AgentConfig } from '../agent/agent-host.js'
import type { FromAgent, ToAgent } from '../../protocol/messages.js'

const config = JSON.parse(process.argv[2]!) as AgentConfig
const receive = startAgentHost(config, (message: FromAgent) => process.send!(message))

process.on('message', (message: ToAgent) => receive(message))
process.on('disconnect', () => process.exit(0))
process.send!({ ready: true, pid: process.pid })
