// Task modules are ordinary modules: every exported function can run on a worker.
import { instanceInfo, shard } from 'spindle'

export function processChunk(data: number[]): number {
  return data.reduce((a, b) => a + b, 0)
}

export function multiply(x: number, y: number): number {
  return x * y
}

export function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1)
}

/** Waits `ms` milliseconds (an I/O-bound task), then reports which task it was. */
export async function slowTask(id: number, ms: number): Promise<{ id: number; ms: number }> {
  await new Promise((resolve) => setTimeout(resolve, ms))
  return { id, ms }
}

/** Runs on every node (broadcast): each node sums its own share of the data. */
export function processPartition(data: number[]): { node: number; size: number; sum: number } {
  const info = instanceInfo()
  const mine = shard(data) // strided: node k gets elements k, k+N, k+2N, ...
  return { node: info.node, size: mine.length, sum: mine.reduce((a, b) => a + b, 0) }
}

/** Never returns: only a deadline (which stops the thread) ends it. */
export function busyLoop(): never {
  for (;;);
}

export class RecordError extends Error {
  override name = 'RecordError'
  code = 'E_RECORD'
  constructor(readonly line: number) {
    super(`line ${line} is not JSON`)
  }
}

export function parseRecord(text: string, line = 1): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new RecordError(line)
  }
}

export function whereAmI() {
  return instanceInfo()
}
