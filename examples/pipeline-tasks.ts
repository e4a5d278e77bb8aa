// Tasks of the pipeline example: a small but real model fit on generated data.

/** Deterministic "sensor" rows: x in [0, 1), y = 3x + 2 plus a little noise. */
export function load(rows: number): Array<{ x: number; y: number }> {
  let seed = 42
  const random = () => ((seed = (seed * 1664525 + 1013904223) % 2 ** 32) / 2 ** 32)
  return Array.from({ length: rows }, () => {
    const x = random()
    return { x, y: 3 * x + 2 + (random() - 0.5) * 0.1 }
  })
}

/** Feature A: the mean of x and of y. */
export function featureA(rows: Array<{ x: number; y: number }>): { meanX: number; meanY: number } {
  const meanX = rows.reduce((a, r) => a + r.x, 0) / rows.length
  const meanY = rows.reduce((a, r) => a + r.y, 0) / rows.length
  return { meanX, meanY }
}

/** Feature B: the sums a least-squares fit needs. */
export function featureB(rows: Array<{ x: number; y: number }>): { sxx: number; sxy: number; n: number } {
  return {
    sxx: rows.reduce((a, r) => a + r.x * r.x, 0),
    sxy: rows.reduce((a, r) => a + r.x * r.y, 0),
    n: rows.length,
  }
}

/** Fits y = slope·x + intercept from both features. */
export function train(a: { meanX: number; meanY: number }, b: { sxx: number; sxy: number; n: number }): { slope: number; intercept: number } {
  const slope = (b.sxy - b.n * a.meanX * a.meanY) / (b.sxx - b.n * a.meanX * a.meanX)
  return { slope, intercept: a.meanY - slope * a.meanX }
}
