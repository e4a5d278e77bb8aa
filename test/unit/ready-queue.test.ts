import { describe, it, expect } from 'vitest'
import { BinaryHeap, ReadyQueue, compareReady, type ReadyKeys } from '../../src/graph/ready-queue.js'
import { prng } from '../helpers/testing.js'


const int = (random: () => number, n: number): number => Math.floor(random() * n)

/** A plain check in the hot loop (expect() per operation would dominate the run time). */
function same(actual: unknown, expected: unknown, where: string): void {
  if (actual !== expected) expect(actual, where).toBe(expected)
}

describe('compareReady', () => {
  const base: ReadyKeys = { priority: 0, bottomLevel: 5, readiedAt: 3, insertion: 7 }
  const first = (a: ReadyKeys, b: ReadyKeys): boolean => compareReady(a, b) < 0 && compareReady(b, a) > 0

  it('puts higher priority first, whatever the other keys', () => {
    expect(first({ ...base, priority: 1, bottomLevel: 0, readiedAt: 0, insertion: 99 }, base)).toBe(true)
  })
  it('then the higher bottom level', () => {
    expect(first({ ...base, bottomLevel: 6, readiedAt: 0, insertion: 99 }, base)).toBe(true)
  })
  it('then the most recently readied', () => {
    expect(first({ ...base, readiedAt: 4, insertion: 99 }, base)).toBe(true)
  })
  it('then the earlier defined', () => {
    expect(first({ ...base, insertion: 6 }, base)).toBe(true)
    expect(compareReady(base, { ...base })).toBe(0)
  })
})

describe('BinaryHeap', () => {
  it('is empty at first', () => {
    const heap = new BinaryHeap<number>((a, b) => a - b)
    expect(heap.size).toBe(0)
    expect(heap.peek()).toBeUndefined()
    expect(heap.pop()).toBeUndefined()
  })

  it('pops numbers in order, duplicates included, and can be cleared', () => {
    const heap = new BinaryHeap<number>((a, b) => a - b)
    for (const x of [5, 1, 4, 1, 5, 9, 2, 6, 5, 3]) heap.push(x)
    const out: number[] = []
    while (heap.size > 0) out.push(heap.pop()!)
    expect(out).toEqual([1, 1, 2, 3, 4, 5, 5, 5, 6, 9])
    heap.push(1)
    heap.clear()
    expect(heap.size).toBe(0)
  })

  // p-graph's heap pops out of order; this pins ours against a plain sort on the same comparator.
  it('matches Array#sort over 3,000 random sequences of interleaved pushes and pops (many ties)', () => {
    for (let seed = 1; seed <= 3_000; seed++) {
      const random = prng(seed)
      const heap = new BinaryHeap<number>((a, b) => a - b)
      const model: number[] = []
      const ops = 1 + int(random, 120)
      const range = 1 + int(random, 10) // small ranges force many equal keys
      for (let op = 0; op < ops; op++) {
        if (random() < 0.6) {
          const x = int(random, range)
          heap.push(x)
          model.push(x)
        } else {
          model.sort((a, b) => a - b)
          same(heap.peek(), model[0], `seed ${seed}, op ${op}: peek`)
          same(heap.pop(), model.shift(), `seed ${seed}, op ${op}: pop`)
        }
        same(heap.size, model.length, `seed ${seed}, op ${op}: size`)
      }
    }
  })
})

describe('ReadyQueue', () => {
  /** Keys from small ranges: equal priorities, bottom levels and readiedAt are common. */
  function randomItem(random: () => number, insertion: number, readiedAt: number): ReadyKeys {
    return {
      priority: int(random, 3) - 1,
      bottomLevel: int(random, 4) + (random() < 0.2 ? 0.5 : 0),
      readiedAt,
      insertion,
    }
  }

  it('matches Array#sort with compareReady over 3,000 random sequences of the executor', () => {
    for (let seed = 1; seed <= 3_000; seed++) {
      const random = prng(seed)
      const queue = new ReadyQueue()
      const model: ReadyKeys[] = []
      let insertion = 0
      let readiedAt = 0
      const ops = 1 + int(random, 150)
      for (let op = 0; op < ops; op++) {
        const r = random()
        if (r < 0.55) {
          // Insertion numbers are unique but not pushed in order, as steps readied out of definition order.
          const item = randomItem(random, insertion + int(random, 3) * 1000, readiedAt)
          insertion++
          queue.push(item)
          model.push(item)
        } else if (r < 0.65) {
          readiedAt++ // a completion: what is readied next is more recent
        } else {
          model.sort(compareReady)
          same(queue.peek(), model[0], `seed ${seed}, op ${op}: peek`)
          same(queue.pop(), model.shift(), `seed ${seed}, op ${op}: pop`)
        }
        same(queue.size, model.length, `seed ${seed}, op ${op}: size`)
      }
      // Drain: the whole remaining order, not only the head, must match.
      model.sort(compareReady)
      for (const [i, want] of model.entries()) same(queue.pop(), want, `seed ${seed}, drain ${i}`)
      same(queue.size, 0, `seed ${seed}, drained`)
    }
  })

  it('drains a large queue in sorted order', () => {
    const random = prng(42)
    const queue = new ReadyQueue()
    const items = Array.from({ length: 20_000 }, (_, i) => randomItem(random, i, int(random, 50)))
    for (const item of items) queue.push(item)
    for (const [i, want] of items.slice().sort(compareReady).entries()) same(queue.pop(), want, `pop ${i}`)
    same(queue.size, 0, 'drained')
  })
})
