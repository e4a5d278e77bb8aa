// Values that cannot travel, on every backend: each fails its own call with a NotCloneableError
// that names where it is, never with Node's raw error, and the pool goes on working.
import { MessageChannel } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { remote, type Compute } from 'spindle'
import type * as Values from '../fixtures/value-tasks.mjs'
import { BACKENDS, tasks as t, usePools } from '../helpers/pools.js'

const v = remote<typeof Values>(new URL('../fixtures/value-tasks.mjs', import.meta.url))

/** An array nested `depth` levels deep. */
function nested(depth: number): unknown[] {
  const root: unknown[] = []
  for (let i = 0, at = root; i < depth; i++) at.push((at = []))
  return root
}

describe.each(BACKENDS)('values that cannot travel, on $name', ({ options }) => {
  const start = usePools()
  let pool: Compute
  const open = async () => (pool = await start(options))

  it('a MessagePort argument: a NotCloneableError with its path, not ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST', async () => {
    await open()
    const { port1, port2 } = new MessageChannel()
    try {
      const [bad, good] = await Promise.allSettled([pool.run(t.echo({ reply: port1 })), pool.run(t.add(1, 2))])
      expect(bad).toMatchObject({ status: 'rejected', reason: { name: 'NotCloneableError', code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'args[0].reply' } })
      expect((bad as PromiseRejectedResult).reason.message).toContain('is a MessagePort (a port can only be transferred, never copied')
      expect(good).toEqual({ status: 'fulfilled', value: 3 })
    } finally {
      port1.close()
      port2.close()
    }
  })

  it('an argument nested 100,000 levels deep fails its call alone with a spindle error; 1,000 levels travel', async () => {
    await open()
    const settled = await Promise.allSettled([pool.run(v.depthOf(nested(100_000))), pool.run(v.depthOf(nested(1000))), pool.run(t.add(2, 3))])
    expect(settled[0]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'args[0]' } })
    expect((settled[0] as PromiseRejectedResult).reason.message).toContain('nested more than 2,000 levels deep')
    expect(settled.slice(1)).toEqual([{ status: 'fulfilled', value: 1000 }, { status: 'fulfilled', value: 5 }])
  })

  it('a result nested 100,000 levels deep, or a port, fails its call with the path, and the worker survives', async () => {
    await open()
    await expect(pool.run(v.nested(100_000))).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'result[0]' })
    await expect(pool.run(v.returnPort())).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'result.port' })
    expect(await pool.broadcast(t.add(1, 1))).toEqual(Array(pool.nodes).fill(2))
  })

  it('a Proxy whose traps throw, or a getter that throws, fails its call with the path, not the raw error', async () => {
    await open()
    const trap = () => {
      throw new Error('trap')
    }
    const proxy = new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, has: trap })
    for (const [arg, path] of [[proxy, 'args[0]'], [{ a: [proxy] }, 'args[0].a[0]']] as const) {
      await expect(pool.run(t.echo(arg))).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path, message: expect.stringContaining('is a Proxy') })
    }
    const getter = Object.defineProperty({}, 'rows', { enumerable: true, get: trap })
    await expect(pool.run(t.echo({ data: getter }))).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'args[0].data.rows', message: expect.stringContaining('a getter that threw') })
  })

  it('a class instance says what it would lose', async () => {
    await open()
    class Point {
      constructor(readonly x = 1) {}
    }
    await expect(pool.run(t.echo(new Point()))).rejects.toThrow(
      'args[0] is an instance of class Point (it would arrive as a plain object, no longer an instance of class Point)',
    )
  })
})
