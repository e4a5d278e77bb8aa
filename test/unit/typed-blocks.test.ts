// Typed-array maps by claimed blocks (src/map/typed-blocks.ts), on a fake pool whose calls run
// the real claiming loop on this thread: a call that claimed a block and was lost before
// finishing it has the block run again in another round (every item exactly right, progress
// counting each item once); a call that fails takes its unfinished blocks' items with it.
import { describe, expect, it } from 'vitest'
import type { CallSink } from '../../src/task/call-sink.js'
import { shareTypedArray } from '../../src/map/shared-memory.js'
import { blockSizeFor, mapTypedBlocks } from '../../src/map/typed-blocks.js'
import { NEXT, type BlockPlan } from '../../src/map/worker/map-block-state.js'
import { runBlocks } from '../../src/map/worker/map-blocks.js'
import type { ChunkOutcome } from '../../src/map/outcome.js'
import type { FnSpec } from '../../src/map/fn-spec.js'

const triple = (x: unknown) => (x as number) * 3
const spec: FnSpec = { kind: 'task', module: 'file:///fake.mjs', name: 'triple' }

/** Claims one block as `slot` the way a worker does, then stops: a worker lost mid-block. */
function claimOneAndVanish(plan: BlockPlan, slot: number): void {
  const cells = new Int32Array(plan.state)
  const k = Atomics.add(cells, NEXT, 1)
  if (k >= plan.claims) return
  Atomics.store(cells, 4 + k, slot + 1) // claimed, never done
}

/**
 * A pool of `nodes` whose calls run here, in slot order, after this turn (the input is staged by
 * then). A call's fate: 'lost' (claims a block and vanishes), 'fail', or 'answerLost' (runs its
 * blocks, then its answer never arrives: the dispatcher's retry of it finds nothing to claim).
 */
function fakePool(nodes: number, lose: (plan: BlockPlan, slot: number, round: number) => 'lost' | 'fail' | 'answerLost' | undefined, fn = triple) {
  const rounds = new Map<SharedArrayBuffer, number>()
  const sink: CallSink = {
    nodes,
    sharedMemory: true,
    offThread: true,
    async submit(_task, args) {
      const [, plan, slot, , stopOnError] = args as [FnSpec, BlockPlan, number, unknown, boolean]
      if (!rounds.has(plan.state)) rounds.set(plan.state, rounds.size + 1)
      await new Promise((resolve) => setImmediate(resolve))
      const fate = lose(plan, slot, rounds.get(plan.state)!)
      if (fate === 'answerLost') {
        runBlocks(fn, plan, slot, stopOnError)
        return {}
      }
      if (fate !== undefined) {
        claimOneAndVanish(plan, slot)
        if (fate === 'fail') throw new Error('worker died')
        return {}
      }
      return runBlocks(fn, plan, slot, stopOnError)
    },
  }
  return { sink, rounds: () => rounds.size }
}

async function run(sink: CallSink, input: Float64Array, stopOnError: boolean) {
  const shared = shareTypedArray(input)
  const outcomes: ChunkOutcome[] = []
  const options = { chunkSize: 100, signal: new AbortController().signal, stopOnError, context: undefined, costKey: -1, progress: false }
  for await (const outcome of mapTypedBlocks(sink, spec, shared, undefined, options)) outcomes.push(outcome)
  return { output: shared.output, outcomes }
}

describe('typed-array maps by claimed blocks', () => {
  const input = Float64Array.from({ length: 1000 }, (_, i) => i)

  it('runs a block again when the worker that claimed it was lost before finishing it', async () => {
    const { sink, rounds } = fakePool(2, (_plan, slot, round) => (slot === 0 && round === 1 ? 'lost' : undefined))
    const { output, outcomes } = await run(sink, input, true)
    expect([...output]).toEqual([...input].map(triple))
    expect(rounds()).toBe(2)
    expect(outcomes.reduce((n, o) => n + o.count, 0), 'each item counted once').toBe(1000)
    expect(outcomes.every((o) => o.errors === undefined)).toBe(true)
  })

  it('fails the items of the blocks a failed call left unfinished, naming their range, and maps the rest', async () => {
    const { sink } = fakePool(2, (_plan, slot) => (slot === 0 ? 'fail' : undefined))
    const { output, outcomes } = await run(sink, input, false)
    const errors = outcomes.flatMap((o) => o.errors ?? [])
    expect(errors).toHaveLength(100) // one block of 100 items
    const first = errors[0]![1]
    expect(first.message).toMatch(/parallelMap items \d+–\d+ \(run as one chunk\) failed: Error: worker died/)
    const failed = new Set(errors.map(([index]) => index))
    for (let i = 0; i < 1000; i++) if (!failed.has(i)) expect(output[i]).toBe(triple(i))
    expect(outcomes.reduce((n, o) => n + o.count, 0)).toBe(1000)
  })

  it('runs again the blocks whose failures travelled with an answer that was lost: no item reads as a zero', async () => {
    const failing = (x: unknown) => {
      if ((x as number) % 100 === 7) throw new Error(`bad ${x}`)
      return (x as number) * 3
    }
    const { sink, rounds } = fakePool(2, (_plan, slot, round) => (slot === 0 && round === 1 ? 'answerLost' : undefined), failing)
    const { output, outcomes } = await run(sink, input, false)
    const failed = outcomes.flatMap((o) => o.errors ?? []).map(([index]) => index)
    expect(failed).toEqual([7, 107, 207, 307, 407, 507, 607, 707, 807, 907]) // each once, none lost with the answer
    for (let i = 0; i < 1000; i++) if (i % 100 !== 7) expect(output[i]).toBe(i * 3)
    expect(rounds()).toBe(2)
    expect(outcomes.reduce((n, o) => n + o.count, 0), 'each item counted once').toBe(1000)
  })

  it('gives up when a round finishes none of the blocks it had to run again', async () => {
    const { sink } = fakePool(1, () => 'lost')
    await expect(run(sink, input, true)).rejects.toMatchObject({ code: 'ERR_SPINDLE_INTERRUPTED', message: expect.stringMatching(/claimed by workers that were lost/) })
  })

  it('sizes blocks at about 16 per thread for auto, and as given otherwise', () => {
    expect(blockSizeFor(1_000_000, 3, 'auto')).toBe(20_834)
    expect(blockSizeFor(500, 2, 'auto')).toBe(500) // small arrays: one block
    expect(blockSizeFor(10_000, 2, 'auto')).toBe(1024) // never below 1024 items per block
    expect(blockSizeFor(1_000_000, 2, 700)).toBe(700)
  })
})
