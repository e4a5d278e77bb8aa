// A hand-written "p-graph-style" step executor, the baseline of bench/pipelines.mjs: what a user
// writes over a task pool without spindle. The ready queue is FIFO (an array read through an index
// pointer, so taking a step is O(1)); at most `concurrency` steps run at once, each one awaited
// `runStep(i)`; when a step ends its dependents lose one pending dependency and join the queue
// when they have none left.

/** Runs steps 0..n-1, where deps[i] lists the steps step i waits for. Resolves when all have run. */
export function runFifo(deps, concurrency, runStep) {
  const n = deps.length
  const waiting = new Int32Array(n)
  const dependents = Array.from({ length: n }, () => [])
  for (let i = 0; i < n; i++) {
    waiting[i] = deps[i].length
    for (const d of deps[i]) dependents[d].push(i)
  }
  const ready = []
  for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(i)
  let head = 0
  let running = 0
  let done = 0
  return new Promise((resolve, reject) => {
    if (n === 0) return resolve()
    const pump = () => {
      while (running < concurrency && head < ready.length) {
        const i = ready[head++]
        running++
        runStep(i).then(() => {
          running--
          done++
          for (const s of dependents[i]) if (--waiting[s] === 0) ready.push(s)
          if (done === n) resolve()
          else pump()
        }, reject)
      }
    }
    pump()
  })
}
