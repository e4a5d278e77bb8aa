// Pool events and stats: hear nodes get lost and replaced, and read what the pool has done.
import { Compute, gather, remote, type NodeEvent } from 'spindle'

const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))
const m = remote<typeof import('./map-tasks.js')>(new URL('./map-tasks.ts', import.meta.url))
await using compute = await Compute.start({ workers: 2 })

compute.on('node', (event) => {
  if (event.type === 'lost') console.log(`Node ${event.node} lost (${event.reason}): ${event.cause.message}`)
  if (event.type === 'replaced') console.log(`Node ${event.node} replaced`)
})

/** The next node event of this type. */
const next = (type: NodeEvent['type']) =>
  new Promise<NodeEvent>((resolve) => {
    compute.on('node', function listener(event) {
      if (event.type !== type) return
      compute.off('node', listener)
      resolve(event)
    })
  })

await compute.broadcast(t.whereAmI()) // once on every node: both have started
const ranges = Array.from({ length: 40 }, (_, i) => ({ from: i * 25_000, to: (i + 1) * 25_000 }))
const counts = await compute.run(gather(...ranges.map((range) => m.countPrimes(range))))
console.log(`Primes below 1,000,000: ${counts.reduce((a, b) => a + b, 0)}`)

// A deadline stops the thread of node 1: the node is lost, then replaced.
const replaced = next('replaced')
await compute.run(t.busyLoop(), { timeout: 100, node: 1 }).catch((error: Error) => console.log(error.name))
await replaced

const stats = compute.stats()
console.log(`Calls: ${stats.completed} completed, ${stats.failed} failed, ${stats.queued} queued, ${stats.running} running`)
for (const node of stats.nodes) {
  console.log(`Node ${node.node}: ${node.state}, ${node.calls} calls, ${(100 * node.utilization).toFixed(0)}% busy, lost ${node.lost} time(s)`)
}
const { runTime, waitTime } = stats
console.log(`Run time p50 ${runTime!.p50.toFixed(1)} ms, p99 ${runTime!.p99.toFixed(1)} ms; wait p50 ${waitTime!.p50.toFixed(1)} ms`)
