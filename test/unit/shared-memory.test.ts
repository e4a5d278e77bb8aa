// Typed-array maps' shared memory: staged inputs come from a warm pool, outputs are fresh, and a
// prepared spare output is handed out only once its pages are touched, and only once.
import { describe, expect, it } from 'vitest'
import { prepareSpare, shareTypedArray } from '../../src/map/shared-memory.js'

const MB = 1024 * 1024

function deferred() {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

describe('shared memory for typed-array maps', () => {
  it('hands out a spare output only once it is touched, and to one map only', async () => {
    const input = new Float64Array(MB / 8 + 1) // just over 1 MiB: big enough to get a spare
    const touched = deferred()
    let spare: SharedArrayBuffer | undefined
    prepareSpare(input.byteLength, (buffer) => ((spare = buffer), touched.promise))
    expect(spare).toBeInstanceOf(SharedArrayBuffer)

    const early = shareTypedArray(input)
    expect(early.output.buffer, 'not while it is being touched').not.toBe(spare)
    early.release()

    touched.resolve()
    await touched.promise
    const next = shareTypedArray(input)
    expect(next.output.buffer, 'the next map of that size gets it').toBe(spare)
    expect(next.output.every((x) => x === 0)).toBe(true)
    next.release()
    expect(shareTypedArray(input).output.buffer, 'never a second time').not.toBe(spare)
  })

  it('prepares nothing for small outputs, and nothing after a failed touch', async () => {
    let asked = 0
    prepareSpare(MB / 2, async () => void asked++)
    expect(asked).toBe(0)
    const failed = deferred()
    let spare: SharedArrayBuffer | undefined
    const input = new Int32Array(MB / 4 + 16)
    prepareSpare(input.byteLength, (buffer) => ((spare = buffer), failed.promise))
    failed.reject(new Error('pool closed'))
    await failed.promise.catch(() => {})
    expect(shareTypedArray(input).output.buffer).not.toBe(spare)
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
