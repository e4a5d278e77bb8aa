// Deadlines, cancellation, errors and pinning.
import { Compute, remote, TimeoutError } from 'spindle'

const t = remote<typeof import('./tasks.js')>(new URL('./tasks.ts', import.meta.url))
await using compute = await Compute.start({ workers: 2 })

// A deadline counts from the moment the call starts running, and stops the work,
// even a loop that never yields: its worker is stopped and replaced.
try {
  await compute.run(t.busyLoop(), { timeout: 200 })
} catch (error) {
  if (error instanceof TimeoutError) console.log(`Timed out: ${error.code}`)
}

// An AbortSignal cancels queued and running calls; the promise rejects with the signal's reason.
const controller = new AbortController()
const slow = compute.run(t.slowTask(0, 10_000), { signal: controller.signal })
controller.abort(new Error('user cancelled'))
await slow.catch((error: Error) => console.log(`Cancelled: ${error.message}`))

// A task's error arrives as it was thrown: name, message, code, its own fields, remote stack.
try {
  await compute.run(t.parseRecord('not json', 7))
} catch (error) {
  const { name, message, code, line } = error as Error & { code: string; line: number }
  console.log(`${name}: ${message} (code ${code}, line ${line})`)
}

// Pin a call to a node: an index, or 'head' for node 0.
const info = await compute.run(t.whereAmI(), { node: 'head' })
console.log(`Ran on node ${info.node} of ${info.totalNodes} (${info.backend})`)
