// Tasks of the parallel-branches and flowyml-chunks examples.

export function hello(branch: string): string {
  return `hello from ${branch}`
}

/** CPU work on one chunk: the sum of squares of its numbers. */
export function processChunk(chunk: number[]): number {
  return chunk.reduce((acc, x) => acc + x * x, 0)
}

export function sum(values: number[]): number {
  return values.reduce((acc, x) => acc + x, 0)
}
