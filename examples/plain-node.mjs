// Plain Node 20, without TypeScript or tsx: `await using` is not yet JavaScript there (a syntax
// error), so the pool is closed in `finally`. Run it with `node examples/plain-node.mjs`.
import { Compute } from 'spindle'

const compute = await Compute.start({ workers: 2 })
try {
  const squares = await compute.map([1, 2, 3, 4], (x) => x * x)
  console.log(`Squares: ${squares.join(', ')}`)
} finally {
  await compute.close()
}
