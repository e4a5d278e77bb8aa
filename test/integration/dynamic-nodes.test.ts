// Nodes that join and leave while a pool runs (backend.ts: serveJoin, NodeState), on a fake
// backend of real worker threads (helpers/joining-backend.ts): a node that joins gets work, one
// that leaves finishes what it began while what waited on it runs elsewhere, no batch reaches a
// node once it began to leave, and broadcast, shard, gather and parallelMap see the members of
// the moment. Handshakes through shared memory; the test decides every join and leave.
import { afterEach, describe, expect, it } from 'vitest'
import { gather, parallelMap, type Compute, type NodeEvent } from 'spindle'
import { cells, tasks as t } from '../helpers/pools.js'
import { startJoiningPool, type JoiningBackend } from '../helpers/joining-backend.js'

const open: Compute[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((pool) => pool.close()))
})

function start(nodes: number): { pool: Compute; backend: JoiningBackend; events: NodeEvent[] } {
  const { pool, backend } = startJoiningPool(nodes)
  open.push(pool)
  const events: NodeEvent[] = []
  pool.on('node', (event) => events.push(event))
  return { pool, backend, events }
}

/** Cell 0 releases the held calls; cell `slot` counts the calls that reached it. */
function holds() {
  const c = cells()
  return { buffer: c.buffer, reached: (slot: number) => c.until(slot, 1), release: () => c.release() }
}

/** Polls until `ready()` (polling, not an oracle: nothing is asserted on the wait). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 2))
}

describe('nodes that join', () => {
  it('a node that joins while every node is busy takes the queued work at once, told its place', async () => {
    const { pool, backend, events } = start(1)
    const hold = holds()
    const held = pool.run(t.holdUntilReleased(hold.buffer, 1))
    await hold.reached(1)
    const queued = pool.run(gather(t.info(), t.info(), t.info()))
    await Promise.resolve()
    backend.join()
    expect(pool.nodes).toBe(2)
    // Node 0 is still held: these can only have run on the node that joined.
    const infos = await queued
    expect(infos.map((i) => [i.node, i.rank, i.totalNodes, i.isHead])).toEqual(Array(3).fill([1, 1, 2, false]))
    expect(infos[0]!.peers).toEqual(['fake-0', 'fake-1'])
    hold.release()
    expect(await held).toBe(1)
    await until(() => events.some((e) => e.type === 'up' && e.node === 1))
  })

  it('on a backend nodes may join, calls wait for one when none is left', async () => {
    const { pool, backend } = start(1)
    await backend.nodes[0]!.leave()
    expect(pool.nodes).toBe(0)
    const waiting = pool.run(t.info())
    backend.join()
    expect((await waiting).node).toBe(1)
  })
})

describe('nodes that leave', () => {
  it('finishes what it began, what waited on it runs elsewhere, and it is sent nothing after', async () => {
    const { pool, backend, events } = start(2)
    const hold = holds()
    const held0 = pool.run(t.holdUntilReleased(hold.buffer, 1), { node: 0 })
    const held1 = pool.run(t.holdUntilReleased(hold.buffer, 2), { node: 1 })
    await hold.reached(1)
    await hold.reached(2)
    const ahead = pool.run(t.info()) // sent ahead to node 0 (ties go to the lower index), waiting behind its held call
    await until(() => pool.stats().queued === 0)
    const leaving = backend.nodes[0]!.leave()
    expect(pool.nodes).toBe(1)
    hold.release()
    expect(await held0).toBe(1) // the call it had begun finished there
    expect(await held1).toBe(2)
    expect((await ahead).node).toBe(1)
    await leaving
    const after = await pool.run(gather(...Array.from({ length: 20 }, () => t.info())))
    expect(new Set(after.map((i) => i.node))).toEqual(new Set([1]))
    expect(after[0]!.totalNodes).toBe(1)
    expect(backend.nodes[0]!.sentAfterLeaving).toEqual([])
    await expect(pool.run(t.info(), { node: 0 })).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED', message: expect.stringContaining('left the pool') })
    await until(() => events.some((e) => e.type === 'left' && e.node === 0))
    expect(pool.stats().nodes[0]!.state).toBe('left')
  })

  it('fails the calls pinned to it that it had not begun, with a code', async () => {
    const { pool, backend } = start(2)
    const hold = holds()
    const held = pool.run(t.holdUntilReleased(hold.buffer, 1), { node: 0 })
    await hold.reached(1)
    const pinned = pool.run(t.info(), { node: 0 })
    await until(() => pool.stats().queued === 0)
    void backend.nodes[0]!.leave()
    await expect(pinned).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED' })
    hold.release()
    expect(await held).toBe(1)
  })
})

describe('the members of the moment', () => {
  it('broadcast reaches the members, and shard() divides by them', async () => {
    const { pool, backend } = start(3)
    await backend.nodes[0]!.leave()
    backend.join()
    const data = Array.from({ length: 10 }, (_, i) => i)
    const parts = await pool.broadcast(t.shardWithInfo(data))
    expect(parts.map((p) => [p.node, p.rank, p.totalNodes, p.isHead])).toEqual([
      [1, 0, 3, true],
      [2, 1, 3, false],
      [3, 2, 3, false],
    ])
    expect(parts[0]!.peers).toEqual(['fake-1', 'fake-2', 'fake-3'])
    expect(parts.flatMap((p) => p.part).sort((a, b) => a - b)).toEqual(data)
    expect(await pool.run(t.info(), { node: 'head' })).toMatchObject({ node: 1, rank: 0 })
  })

  it('gather and parallelMap run every item once while nodes join and leave under them', async () => {
    const { pool, backend } = start(2)
    const buffer = new SharedArrayBuffer(4 * 300)
    const runs = new Int32Array(buffer)
    const ran = () => runs.reduce((a, b) => a + b, 0)
    const items = Array.from({ length: 300 }, (_, i) => ({ buffer, i, ms: 2 }))
    const mapped = parallelMap(items, t.countedSpin, { compute: pool, chunkSize: 5 })
    const sums = pool.run(gather(...Array.from({ length: 40 }, (_, i) => t.add(i, 1))))
    await until(() => ran() >= 60)
    backend.join()
    await until(() => ran() >= 120)
    const first = backend.nodes[0]!.leave()
    await until(() => ran() >= 180)
    backend.join()
    const second = backend.nodes[1]!.leave()
    expect(await mapped).toEqual(items.map((item) => item.i * 10))
    expect(await sums).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    expect([...runs].filter((n) => n !== 1)).toEqual([])
    await Promise.all([first, second])
    for (const node of backend.nodes) expect(node.sentAfterLeaving, node.describe()).toEqual([])
    expect(pool.nodes).toBe(2)
    const where = await pool.broadcast(t.info())
    expect(where.map((i) => i.node)).toEqual([2, 3])
  })
})
