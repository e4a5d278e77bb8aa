// Typed-array maps' shared memory: staged inputs come from a warm pool, outputs are fresh, and a
// spare output (made and its pages faulted in by a worker) goes to the next map of its size, once.
import { describe, expect, it } from 'vitest'
import { prepareSpare, prepareSpareLater, shareNumbers, shareTypedArray } from '../../src/map/shared-memory.js'
import { spareOutput } from '../../src/worker/map-chunk.js'

const MB = 1024 * 1024

/** A promise with its resolve function. */
function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('shared memory for typed-array maps', () => {
  it('hands a spare output, once prepared, to the next map of its size only, once; a map that starts first stops its touching', async () => {
    const input = new Float64Array(MB / 8 + 1) // just over 1 MiB: big enough to get a spare
    const made = deferred<SharedArrayBuffer>()
    let stop: Int32Array | undefined
    let asked = 0
    const make = (bytes: number, flag: SharedArrayBuffer) => (asked++, (stop = new Int32Array(flag)), made.promise)
    prepareSpare(input.byteLength, make)
    prepareSpare(input.byteLength, make)
    expect(asked, 'one spare per size at a time').toBe(1)
    expect(Atomics.load(stop!, 0), 'touching goes on until a map needs memory').toBe(0)
    const early = shareTypedArray(input).output.buffer
    expect(Atomics.load(stop!, 0), 'a map that starts meanwhile stops the touching').toBe(1)
    const spare = spareOutput(input.byteLength, new SharedArrayBuffer(4))
    made.resolve(spare)
    await made.promise
    expect(early).not.toBe(spare)
    expect(shareTypedArray(input).output.buffer, 'the next map of that size gets it').toBe(spare)
    expect(shareTypedArray(input).output.buffer, 'never a second time').not.toBe(spare)
  })

  it('prepares nothing for small outputs; a spare that could not be made leaves the next map its own', async () => {
    let asked = 0
    prepareSpare(MB / 2, async () => (asked++, new SharedArrayBuffer(MB / 2)))
    expect(asked).toBe(0)
    const input = new Int32Array(MB / 4 + 16)
    prepareSpare(input.byteLength, async () => {
      throw new Error('pool closed')
    })
    await new Promise((resolve) => setImmediate(resolve))
    const output = shareTypedArray(input).output
    expect(output.length).toBe(input.length)
    expect(output.every((x) => x === 0)).toBe(true)
    prepareSpare(input.byteLength, async () => (asked++, new SharedArrayBuffer(input.byteLength)))
    expect(asked, 'and it can be asked again').toBe(1)
  })

  it('prepares a spare later, once the caller has its result, unless another map took an output meanwhile', async () => {
    const bytes = 2 * MB + 8 // a size of its own: other tests' spares are not in the way
    const made: SharedArrayBuffer[] = []
    const make = async (size: number) => {
      const buffer = new SharedArrayBuffer(size)
      made.push(buffer)
      return buffer
    }
    const immediate = () => new Promise((resolve) => setImmediate(resolve))
    prepareSpareLater(bytes, make)
    shareTypedArray(new Float64Array(4)) // a map started before the spare was prepared
    await immediate()
    expect(made, 'skipped: it would compete with that map').toHaveLength(0)
    prepareSpareLater(bytes, make)
    expect(made, 'not before the caller goes on').toHaveLength(0)
    await immediate()
    expect(made).toHaveLength(1)
    await immediate()
    expect(shareTypedArray(new Float64Array(bytes / 8)).output.buffer, 'the next map of that size gets it').toBe(made[0])
  })

  it('makes a spare of the size asked, zero-filled, whether or not the touching was stopped', () => {
    const stop = new Int32Array(new SharedArrayBuffer(4))
    const whole = spareOutput(4 * MB, stop.buffer as SharedArrayBuffer)
    Atomics.store(stop, 0, 1)
    const stopped = spareOutput(4 * MB, stop.buffer as SharedArrayBuffer)
    for (const buffer of [whole, stopped]) {
      expect(buffer.byteLength).toBe(4 * MB)
      expect(new Int32Array(buffer).every((x) => x === 0)).toBe(true)
    }
  })

  it('stages an array of numbers from an index on, exactly (NaN, -0, Infinity), or nothing if an item is not a number', () => {
    const numbers = [9, 8, 1.5, Number.NaN, -0, Infinity, -1e308, 2 ** 53 + 2]
    const shared = shareNumbers(numbers, 2)!
    expect(shared.input.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect([...shared.input].every((x, i) => Object.is(x, numbers[2 + i]))).toBe(true)
    expect(shared.output).toHaveLength(6)
    shared.release()
    expect(shareNumbers([1, 2, '3', 4], 0)).toBeUndefined()
    expect(shareNumbers([1, 2n, 3], 0)).toBeUndefined()
  })

  it('stages the input into shared memory, range by range, leaving the caller\'s array as it is', () => {
    const input = Int16Array.from({ length: 1000 }, (_, i) => i - 500)
    const shared = shareTypedArray(input)
    expect(shared.input.buffer).toBeInstanceOf(SharedArrayBuffer)
    shared.stage(0, 10)
    expect([...shared.input.subarray(0, 10)]).toEqual([...input.subarray(0, 10)])
    shared.stage(10, 1000)
    expect([...shared.input]).toEqual([...input])
    shared.release()
    expect(input[0]).toBe(-500)
  })
})
