// Typed-array maps' shared memory: staged inputs come from a warm pool, outputs are fresh, and a
// spare output (its pages faulted in by an idle worker) goes to the next map of its size, once.
import { describe, expect, it } from 'vitest'
import { prepareSpare, prepareSpareLater, shareNumbers, shareTypedArray } from '../../src/map/shared-memory.js'
import { touchPages } from '../../src/map/worker/map-chunk.js'

const MB = 1024 * 1024

describe('shared memory for typed-array maps', () => {
  it('hands out a spare output at once, to one map only, and stops its touching then', () => {
    const input = new Float64Array(MB / 8 + 1) // just over 1 MiB: big enough to get a spare
    let spare: SharedArrayBuffer | undefined
    let stop: Int32Array | undefined
    prepareSpare(input.byteLength, (buffer, flag) => ((spare = buffer), (stop = new Int32Array(flag)), new Promise(() => {})))
    expect(spare).toBeInstanceOf(SharedArrayBuffer)
    expect(Atomics.load(stop!, 0), 'touching goes on until a map needs memory').toBe(0)
    expect(shareTypedArray(input).output.buffer, 'the next map of that size gets it, touched or not').toBe(spare)
    expect(Atomics.load(stop!, 0), 'and the touching stops for it').toBe(1)
    expect(shareTypedArray(input).output.buffer, 'never a second time').not.toBe(spare)
  })

  it('prepares nothing for small outputs; a spare whose touching failed is still handed out', async () => {
    let asked = 0
    prepareSpare(MB / 2, async () => void asked++)
    expect(asked).toBe(0)
    let spare: SharedArrayBuffer | undefined
    const input = new Int32Array(MB / 4 + 16)
    prepareSpare(input.byteLength, async (buffer) => {
      spare = buffer
      throw new Error('pool closed')
    })
    await Promise.resolve()
    const output = shareTypedArray(input).output
    expect(output.buffer).toBe(spare)
    expect(output.every((x) => x === 0)).toBe(true)
  })

  it('prepares a spare later, once the caller has its result, unless another map took an output meanwhile', async () => {
    const bytes = 2 * MB + 8 // a size of its own: other tests' spares are not in the way
    const touched: SharedArrayBuffer[] = []
    const touch = async (buffer: SharedArrayBuffer) => void touched.push(buffer)
    const immediate = () => new Promise((resolve) => setImmediate(resolve))
    prepareSpareLater(bytes, touch)
    shareTypedArray(new Float64Array(4)) // a map started before the spare was prepared
    await immediate()
    expect(touched, 'skipped: it would compete with that map').toHaveLength(0)
    prepareSpareLater(bytes, touch)
    expect(touched, 'not before the caller goes on').toHaveLength(0)
    await immediate()
    expect(touched).toHaveLength(1)
    expect(shareTypedArray(new Float64Array(bytes / 8)).output.buffer, 'the next map of that size gets it').toBe(touched[0])
  })

  it('touches pages without changing what a map has already written there', () => {
    const buffer = new SharedArrayBuffer(4 * MB)
    const words = new Int32Array(buffer)
    for (let i = 0; i < words.length; i += 1024) words[i] = i + 1 // a map got there first
    touchPages(buffer, new SharedArrayBuffer(4))
    for (let i = 0; i < words.length; i += 1024) expect(words[i]).toBe(i + 1)
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
