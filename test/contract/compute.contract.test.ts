// One suite, every backend: what Compute promises no matter where calls run.
import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { gather, type Compute, type Pending } from 'spindle'
import { BACKENDS, tasks as t, usePools, useProbes } from '../helpers/pools.js'

describe.each(BACKENDS)('Compute contract on $name', ({ name, options }) => {
  const start = usePools()
  const probe = useProbes()
  let pool: Compute
  const open = async () => (pool = await start(options))

  describe('run', () => {
    it('runs a sync and an async task', async () => {
      await open()
      expect(await pool.run(t.add(2, 3))).toBe(5)
      expect(await pool.run(t.delayedEcho('late', 5))).toBe('late')
    })

    it('passes a Pending as an argument: the dependency runs first, once per run', async () => {
      await open()
      const counted = t.countRunFile(probe.path('runs')) // returns 1, and counts how often it ran
      const out = await pool.run(gather(t.add(counted, 10), t.multiply(counted, 7), t.add(counted, counted)))
      expect(out).toEqual([11, 7, 2])
      expect(probe.runs('runs')).toBe(1) // ran once even though three calls use it
    })

    it('gives a gather its values in submission order', async () => {
      await open()
      const calls = [30, 1, 20, 2, 10].map((ms, i) => t.delayedEcho(i, ms))
      expect(await pool.run(gather(...calls))).toEqual([0, 1, 2, 3, 4])
      expect(await pool.run(gather())).toEqual([])
    })

    it('keeps the results of many cheap calls in order (batched dispatch)', async () => {
      await open()
      const out = await pool.run(gather(...Array.from({ length: 3000 }, (_, i) => t.echo(i))))
      expect(out).toEqual(Array.from({ length: 3000 }, (_, i) => i))
    })
  })

  describe('stream', () => {
    it('yields in submission order by default', async () => {
      await open()
      const seen: number[] = []
      for await (const value of pool.stream(gather(t.delayedEcho(0, 20), t.delayedEcho(1, 1), t.echo(2)))) {
        seen.push(value)
      }
      expect(seen).toEqual([0, 1, 2])
    })

    it('with ordered: false, tells which call each result belongs to', async () => {
      await open()
      const calls = [15, 1, 8].map((ms, i) => t.delayedEcho(i * 10, ms))
      const seen: Array<[number, number]> = []
      for await (const r of pool.stream(gather(...calls), { ordered: false })) {
        expect(r.pending).toBe(calls[r.index])
        seen.push([r.index, r.value])
      }
      expect(seen.sort((a, b) => a[0] - b[0])).toEqual([[0, 0], [1, 10], [2, 20]])
    })

    it('throws the first failure it reaches', async () => {
      await open()
      const run = async () => {
        for await (const _ of pool.stream(gather(t.echo(1), t.fail('boom')))) void _
      }
      await expect(run()).rejects.toThrow('boom')
    })
  })

  describe('broadcast and instanceInfo', () => {
    it('runs exactly once on every node, results in node order', async () => {
      await open()
      const infos = await pool.broadcast(t.info())
      expect(infos.map((i) => i.node)).toEqual(Array.from({ length: pool.nodes }, (_, i) => i))
      for (const info of infos) {
        expect(info).toMatchObject({ totalNodes: pool.nodes, jobId: pool.jobId, backend: name, isHead: info.node === 0 })
        expect(info.peers).toHaveLength(pool.nodes)
      }
    })

    it('answers instanceInfo() after an await, in every call of a task (not only its first)', async () => {
      await open()
      for (let round = 0; round < 3; round++) {
        const infos = await pool.run(gather(t.info(), t.infoLater(), t.infoLater()))
        for (const info of infos) expect(info).toMatchObject({ backend: name, jobId: pool.jobId })
      }
    })

    it('shards data over the nodes so every item is seen once', async () => {
      await open()
      const data = Array.from({ length: 1000 }, (_, i) => i)
      const parts = await pool.broadcast(t.processPartition(data))
      expect(parts.reduce((a, p) => a + p.size, 0)).toBe(1000)
      expect(parts.reduce((a, p) => a + p.sum, 0)).toBe(499500)
    })

    it("pins a call to a node, 'head' being node 0", async () => {
      await open()
      expect((await pool.run(t.info(), { node: 'head' })).node).toBe(0)
      expect((await pool.run(t.info(), { node: pool.nodes - 1 })).node).toBe(pool.nodes - 1)
    })

    it('rejects a node that does not exist at once', async () => {
      await open()
      await expect(pool.run(t.echo(1), { node: pool.nodes })).rejects.toMatchObject({
        code: 'ERR_SPINDLE_NO_SUCH_NODE',
      })
    })
  })

  describe('errors cross the boundary', () => {
    it('keeps name, message, code, own fields and the remote stack', async () => {
      await open()
      const error = await pool.run(t.fail('bad input')).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      expect(error).toMatchObject({ name: 'TypeError', message: 'bad input', code: 'E_TASK', details: { attempt: 1 } })
      expect((error as Error).stack).toContain('tasks.mjs')
    })

    it('keeps the cause chain and AggregateError.errors', async () => {
      await open()
      const caused = (await pool.run(t.rejectWithCause()).catch((e: unknown) => e)) as Error
      expect(caused.message).toBe('outer')
      expect(caused.cause).toBeInstanceOf(RangeError)
      expect((caused.cause as Error).message).toBe('inner')
      const many = (await pool.run(t.throwAggregate()).catch((e: unknown) => e)) as AggregateError
      expect(many).toBeInstanceOf(AggregateError)
      expect(many.errors.map((e: Error) => [e.name, e.message])).toEqual([['Error', 'a'], ['TypeError', 'b']])
    })

    it('preserves thrown non-Error values', async () => {
      await open()
      await expect(pool.run(t.throwString())).rejects.toBe('plain string')
      await expect(pool.run(t.throwObject())).rejects.toEqual({ reason: 'object', n: 1 })
    })

    it('names the task and the value when an argument cannot be sent, and runs nothing', async () => {
      await open()
      const model = { predict: () => 1 }
      const error = await pool.run(t.echo(model)).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'args[0].predict' })
      expect((error as Error).message).toMatch(/argument 0 of task echo \(tasks\.mjs\)/)
    })

    it.each<[string, unknown, string]>([
      ['a class instance with methods', new (class Model { predict() {} })(), 'args[0]'],
      ['a symbol', Symbol('s'), 'args[0]'],
      ['a function nested in a Map', new Map([['k', () => 1]]), 'args[0].get("k")'],
    ])('rejects an argument that is %s before running anything', async (_what, value, path) => {
      await open()
      await expect(pool.run(t.echo(value))).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path })
    })

    it('fails only the call whose argument array holds a function in a named property; the calls sent with it run', async () => {
      await open()
      const rows = Object.assign([1, 2], { total: () => 3 }) // past the quick check: found once the send fails
      // Many calls of one task go out in batches: the bad one shares its batch with good ones.
      const settled = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => pool.run(t.echo(i === 150 ? { rows } : i))))
      expect(settled[150]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_SPINDLE_NOT_CLONEABLE', path: 'args[0].rows.total' } })
      expect(settled.filter((s, i) => i !== 150 && !(s.status === 'fulfilled' && s.value === i))).toEqual([])
      expect(await pool.run(t.echo([5]))).toEqual([5])
    })

    it.each<[string, () => Pending<unknown>, string]>([
      ['a function in an array\'s named property', () => t.returnArrayWithMethod(), 'result.rows.total'],
      ['a function', () => t.returnFunction(), 'result.fn'],
      ['a class instance with methods', () => t.returnClassInstance(), 'result'],
      ['a symbol', () => t.returnSymbol(), 'result'],
    ])('rejects a result that is %s, and the worker survives', async (_what, call, path) => {
      await open()
      await expect(pool.run(call())).rejects.toMatchObject({ code: 'ERR_SPINDLE_NOT_CLONEABLE', path })
      expect(await pool.run(t.add(1, 1))).toBe(2)
    })

    it('names the module and its exports when an export is missing', async () => {
      await open()
      const missing = (t as unknown as Record<string, () => never>).nope!()
      const error = (await pool.run(missing).catch((e: unknown) => e)) as Error & { code: string }
      expect(error.code).toBe('ERR_SPINDLE_MISSING_EXPORT')
      expect(error.message).toContain('tasks.mjs')
      expect(error.message).toContain('has no export "nope"')
      expect(error.message).toMatch(/Its exported functions: .*add.*multiply/)
      await expect(pool.run((t as unknown as Record<string, () => never>).notAFunction!())).rejects.toThrow(
        /exports "notAFunction", but it is not a function/,
      )
    })

    it('names the module when it cannot be loaded', async () => {
      await open()
      const { remote } = await import('spindle')
      const ghost = remote<{ f(): void }>(new URL('../fixtures/does-not-exist.mjs', import.meta.url))
      const error = (await pool.run(ghost.f()).catch((e: unknown) => e)) as Error & { code: string }
      expect(error.code).toBe('ERR_SPINDLE_MODULE_NOT_FOUND')
      expect(error.message).toContain('does-not-exist.mjs')
    })
  })

  describe('cancellation and deadlines', () => {
    it('rejects at once when the signal is already aborted', async () => {
      await open()
      const reason = new Error('stop')
      await expect(pool.run(t.echo(1), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    })

    it('cancels queued calls and leaves no listener behind', async () => {
      await open()
      const controller = new AbortController()
      // Fill every slot of every node with a held call, then queue one more behind them and abort it.
      const slots = name === 'inline' ? 1 : pool.nodes * 2
      const held = Array.from({ length: slots }, () => pool.run(t.holdUntilFile(probe.path('started'), probe.path('go'))))
      await probe.started('started', slots) // async holds: a node runs both of its batches at once
      const queued = pool.run(t.echo('never'), { signal: controller.signal })
      controller.abort(new Error('changed my mind'))
      await expect(queued).rejects.toThrow('changed my mind')
      probe.release('go')
      await Promise.all(held)
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
      const settled = new AbortController()
      await pool.run(t.echo(1), { signal: settled.signal })
      expect(getEventListeners(settled.signal, 'abort')).toHaveLength(0)
      settled.abort() // after settling: nothing happens, nothing throws
    })

    it('times out an async task that runs past its deadline', async () => {
      await open()
      const error = await pool.run(t.delayedEcho(1, 60_000), { timeout: 50 }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'ERR_SPINDLE_TIMEOUT', timeout: 50 })
      expect(await pool.run(t.add(1, 2))).toBe(3)
    })
  })

  describe('options and closing', () => {
    it('suggests the option meant', async () => {
      await expect(start({ ...options, worker: 2 } as never)).rejects.toThrow('Did you mean "workers"?')
      await open()
      await expect(pool.run(t.echo(1), { timeot: 5 } as never)).rejects.toThrow('Did you mean "timeout"?')
    })

    it('says how to write it when run() is given something other than a Pending', async () => {
      await open()
      await expect(pool.run(42 as never)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INVALID_OPTION', message: expect.stringContaining('compute.run(t.fn(args))') })
      await expect(pool.run([t.add(1, 2), t.add(3, 4)] as never)).rejects.toThrow('got an array of them. Write compute.run(gather(...calls))')
    })

    it('rejects calls after close, with a code', async () => {
      await open()
      await pool.close()
      await expect(pool.run(t.echo(1))).rejects.toMatchObject({ code: 'ERR_SPINDLE_CLOSED' })
      await pool.close() // twice is fine
    })

    it('closes with await using', async () => {
      let calls = 0
      {
        await using scoped = await start(options)
        calls = await scoped.run(t.add(1, 1))
      }
      expect(calls).toBe(2)
    })
  })
})
