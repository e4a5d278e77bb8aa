// The BackendNode contract (src/backends/backend.ts), driven directly, without a dispatcher, on
// every backend's nodes and on a fake node that joins and leaves: a node takes `slots` batches
// at once and answers each; every batch it is given is reported exactly once (done or failed),
// whatever happens to it (a task that throws, a worker that exits, a stop, a take-back, close);
// a crash interrupts only what it had to, and the node runs the next batch; a stopped loop ends.
// After every case a last round trip is the barrier after which no late second report may come.
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend, BackendNode, BatchControl, NodeFailure } from '../../dist/backends/backend.js'
import { startThreadBackend } from '../../dist/backends/thread/thread-backend.js'
import { startProcessBackend } from '../../dist/backends/process/process-backend.js'
import { startSshBackend } from '../../dist/backends/ssh/ssh-backend.js'
import { startInlineBackend } from '../../dist/backends/inline/inline-backend.js'
import { resolveComputeOptions } from '../../dist/compute/options.js'
import { NO_CLAIM } from '../../dist/protocol/claims.js'
import type { BatchRequest, BatchResponse } from '../../dist/protocol/messages.js'
import { runSshTests, startSshLab, type SshLab } from '../helpers/sshd.js'
import { JoiningBackend } from '../helpers/joining-backend.js'

const TASKS = new URL('../fixtures/tasks.mjs', import.meta.url).href
/** Task ids of this file's own (the dispatcher's ids start at 1: these never meet them). */
const TASK = { add: 900_001, fail: 900_002, exitNow: 900_003, loopForever: 900_004, delayedEcho: 900_005, holdSyncUntilFile: 900_006, countRunFile: 900_007 } as const
type TaskName = keyof typeof TASK

let lab: SshLab | undefined
const KINDS: Array<{ name: string; stops: boolean; start: () => Promise<Backend> }> = [
  { name: 'thread', stops: true, start: async () => startThreadBackend(1, randomUUID(), {}) },
  { name: 'process', stops: true, start: async () => startProcessBackend(1, 1, randomUUID(), {}) },
  { name: 'inline', stops: false, start: async () => startInlineBackend(randomUUID()) },
  { name: 'fake (joins and leaves)', stops: true, start: async () => new JoiningBackend(1) },
  ...(runSshTests
    ? [
        {
          name: 'ssh',
          stops: true,
          start: async () => {
            lab ??= await startSshLab(1)
            const resolved = resolveComputeOptions({ backend: 'ssh', hosts: lab.hosts(1) })
            return startSshBackend(resolved.hosts, resolved.ssh!, 1, randomUUID(), undefined)
          },
        },
      ]
    : []),
]

const open: Backend[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((backend) => backend.close()))
})

let nextBatch = 1
let nextSeq = 1

/** A batch of one call per entry, each task defined in it (a node's new worker may not know them). */
function batch(...calls: Array<[TaskName, unknown[]]>): BatchRequest {
  const definitions = [...new Set(calls.map(([name]) => name))].map((name) => [TASK[name], TASKS, name] as const)
  const request: BatchRequest = [definitions, nextBatch++, NO_CLAIM, undefined, undefined]
  for (const [name, args] of calls) request.push(nextSeq++, TASK[name], args)
  return request
}

/** What a node reported for one batch: every report is kept, so a second one shows. */
interface Sent {
  readonly reports: Array<{ done: BatchResponse } | { failed: NodeFailure }>
  readonly settled: Promise<{ done: BatchResponse } | { failed: NodeFailure }>
  readonly control: BatchControl
}

function send(node: BackendNode, request: BatchRequest): Sent {
  const reports: Sent['reports'] = []
  let first: (report: Sent['reports'][number]) => void = () => {}
  const settled = new Promise<Sent['reports'][number]>((resolve) => (first = resolve))
  const report = (r: Sent['reports'][number]) => {
    reports.push(r)
    first(r)
  }
  const control = node.execute(request, (done) => report({ done }), (failed) => report({ failed }))
  return { reports, settled, control }
}

async function started(kind: (typeof KINDS)[number]): Promise<BackendNode> {
  const backend = await kind.start()
  open.push(backend)
  return backend.nodes[0]!
}

/** A round trip that answers: after it, a batch reported before will not be reported again. */
async function barrier(node: BackendNode): Promise<void> {
  const last = await send(node, batch(['add', [1, 1]])).settled
  expect(last).toMatchObject({ done: [expect.any(Number), undefined, expect.any(Number), 2] })
}

describe.each(KINDS)('a $name node', (kind) => {
  it('takes `slots` batches at once and answers each exactly once, with one value per call', async () => {
    const node = await started(kind)
    expect(node.slots).toBeGreaterThanOrEqual(1)
    const sent = Array.from({ length: node.slots }, (_, i) => send(node, batch(['add', [i, 1]], ['add', [i, 2]])))
    const reports = await Promise.all(sent.map((s) => s.settled))
    reports.forEach((report, i) => expect(report).toEqual({ done: [expect.any(Number), undefined, expect.any(Number), i + 1, i + 2] }))
    await barrier(node)
    for (const s of sent) expect(s.reports).toHaveLength(1)
  })

  it('reports a call that throws in its own batch, with its index, and the others with their values', async () => {
    const node = await started(kind)
    const sent = send(node, batch(['add', [1, 2]], ['fail', ['no']], ['add', [3, 4]]))
    const report = await sent.settled
    expect('done' in report).toBe(true)
    const [, errors, , ...values] = (report as { done: BatchResponse }).done
    expect(errors?.map(([index]) => index)).toEqual([1])
    expect([values[0], values[2]]).toEqual([3, 7])
    await barrier(node)
    expect(sent.reports).toHaveLength(1)
  })

  it.runIf(kind.stops)('a worker that exits fails its batch once, as a crash, and the node runs the next batch', async () => {
    const node = await started(kind)
    const crashed = send(node, batch(['exitNow', [7]]))
    const report = await crashed.settled
    expect(report).toMatchObject({ failed: { reason: 'crash' } })
    await barrier(node)
    expect(crashed.reports).toHaveLength(1)
  })

  it.runIf(kind.stops)('a batch waiting behind one whose worker exits is taken back or interrupted, never answered twice', async () => {
    const node = await started(kind)
    if (node.slots < 2) return
    const crashed = send(node, batch(['exitNow', [7]]))
    const behind = send(node, batch(['add', [2, 3]]))
    await crashed.settled
    const report = await behind.settled
    // It either ran on the replacement (done), or was given back untouched (revoked) or as interrupted (crash, interrupted).
    if ('failed' in report) expect(report.failed.reason === 'revoked' || report.failed.details.interrupted === true).toBe(true)
    else expect(report.done[3]).toBe(5)
    await barrier(node)
    expect([crashed.reports.length, behind.reports.length]).toEqual([1, 1])
  })

  it.runIf(kind.stops)("'stop' ends a running loop: reported once as aborted, and the node runs the next batch", async () => {
    const node = await started(kind)
    await barrier(node) // the worker is up: the loop below begins
    const loop = send(node, batch(['loopForever', []]))
    loop.control('stop')
    expect(await loop.settled).toMatchObject({ failed: { reason: expect.stringMatching(/^(aborted|revoked)$/) } })
    await barrier(node)
    expect(loop.reports).toHaveLength(1)
  })

  it.runIf(kind.stops)("'revoke' takes back a batch waiting behind a running one, which is never run; the running one goes on", async () => {
    const node = await started(kind)
    if (node.slots < 2) return
    const dir = mkdtempSync(join(tmpdir(), 'spindle-node-'))
    try {
      const running = send(node, batch(['holdSyncUntilFile', [join(dir, 'started'), join(dir, 'go'), join(dir, 'held')]]))
      while (!existsSync(join(dir, 'started'))) await new Promise((resolve) => setTimeout(resolve, 5)) // polling, not an oracle
      const waiting = send(node, batch(['countRunFile', [join(dir, 'waiting')]]))
      waiting.control('revoke')
      expect(await waiting.settled).toMatchObject({ failed: { reason: 'revoked' } })
      writeFileSync(join(dir, 'go'), '')
      expect(await running.settled).toMatchObject({ done: [expect.any(Number), undefined, expect.any(Number), 'released'] })
      await barrier(node)
      expect([running.reports.length, waiting.reports.length]).toEqual([1, 1])
      expect(existsSync(join(dir, 'waiting')), 'the batch taken back never ran').toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a backend whose nodes join and leave', () => {
  it('tells the join to its handler once the node is in `nodes`, and a leaving node drains to closed', async () => {
    const backend = new JoiningBackend(1)
    open.push(backend)
    const joined: number[] = []
    backend.serveJoin((node) => joined.push(node.index, backend.nodes.indexOf(node as never)))
    const node = backend.join()
    expect(joined).toEqual([1, 1])
    expect(node.state).toBe('ready')
    const states: string[] = []
    node.watch(() => states.push(node.state))
    const running = send(node, batch(['delayedEcho', ['last', 50]]))
    const left = node.leave()
    expect(node.state).toBe('draining')
    expect(await running.settled).toMatchObject({ done: [expect.any(Number), undefined, expect.any(Number), 'last'] })
    await left
    expect(states).toEqual(['draining', 'closed'])
  })
})
