// Actors: a model loaded once on a node, then scored by many calls; its state stays there.
import { ActorLostError, Compute, remote } from 'spindle'

const t = remote<typeof import('./model-tasks.js')>(new URL('./model-tasks.ts', import.meta.url))
await using compute = await Compute.start({ workers: 2 })

await using model = await compute.actor(t.Model, { features: 4, seed: 7 }) // new Model(cfg) on one node
const rows = Array.from({ length: 1000 }, (_, i) => [i % 3, i % 5, i % 7, 1])
const scores = await Promise.all(rows.map((row) => model.score(row))) // Promise<number> each, in call order
console.log(`Scored ${scores.length} rows: ${scores.slice(0, 3).map((s) => s.toFixed(2)).join(', ')}, ...`)
const { scored, loads } = await model.stats()
console.log(`It scored ${scored} rows, with its weights loaded ${loads} time(s)`)

const caches = await compute.actors(t.Cache) // one per node, in node order
console.log(`Caches on nodes ${(await Promise.all(caches.map((cache) => cache.where()))).join(', ')}`)

// Its state dies with its worker: its calls fail, and are never run again elsewhere.
const fragile = await compute.actor(t.Model, { features: 4, seed: 1 }, { node: 1 })
const lost = await fragile.crash().catch((error: unknown) => error)
console.log(lost instanceof ActorLostError ? `${lost.code}: ${lost.actor} on node ${lost.node}` : 'not lost?')
console.log(`Still scoring: ${(await model.score([1, 1, 1, 1])).toFixed(2)}`)
