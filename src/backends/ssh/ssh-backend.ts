/**
 * The SSH backend: one node per host, each a node agent with `workersPerNode` threads, reached
 * through the system's OpenSSH client. Every host is connected and bootstrapped at start, in
 * parallel; if any cannot be used, the others are closed and start fails with that host's
 * SshError, before any work. ssh's ControlMaster sockets live in a private directory with
 * short paths (control-dir.ts), removed on close.
 */
import type { ResourceLimits } from 'node:worker_threads'
import type { Backend } from '../backend.js'
import { bundle } from './bundle.js'
import { sshArguments } from './command.js'
import { closeControlDir, controlPath, openControlDir } from './control-dir.js'
import { PROTOCOL } from './frames.js'
import type { ResolvedHost, ResolvedSshOptions } from './hosts.js'
import { DIST } from '../agent/module-frames.js'
import { SshNode } from './ssh-node.js'

export async function startSshBackend(
  hosts: readonly ResolvedHost[],
  options: ResolvedSshOptions,
  workersPerNode: number,
  jobId: string,
  resourceLimits: ResourceLimits | undefined,
): Promise<Backend> {
  const { hash, archive, agent } = bundle()
  const controlDir = openControlDir(hosts.length)
  const peers = hosts.map((h) => h.name)
  const nodes = hosts.map((host, index) => {
    const info = { node: index, rank: index, totalNodes: hosts.length, workersPerNode, isHead: index === 0, peers, jobId, backend: 'ssh' as const }
    const args = sshArguments(host, { controlPath: controlPath(controlDir, index), heartbeatInterval: options.heartbeatInterval, connectTimeout: options.connectTimeout, bundleHash: hash, agent })
    const config = {
      config: { info, ...(resourceLimits !== undefined && { resourceLimits }) },
      heartbeatInterval: options.heartbeatInterval,
      // The caller's heartbeats come from its main thread, which the user's own code may block
      // for a while (the agent's never runs tasks): the agent is more patient than the caller.
      callerTimeout: 6 * options.heartbeatTimeout,
      dist: DIST,
      protocol: PROTOCOL,
    }
    return new SshNode(index, { host, index, args, archive, config, options }, workersPerNode)
  })
  const close = async () => {
    await Promise.all(nodes.map((node) => node.close()))
    closeControlDir(controlDir)
  }
  const opened = await Promise.allSettled(nodes.map((node) => node.open()))
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected')
  if (failed !== undefined) {
    await close()
    throw failed.reason
  }
  return { kind: 'ssh', nodeNoun: 'host', nodes, close }
}
