// Piscina loads this file on each worker thread of the thread backend.
import { workerData, type MessagePort } from 'node:worker_threads'
import { sendPartialsTo, setWorkerContext, type InstanceInfo } from './context.js'
import { PortPool } from './nested-pool.js'
import { captureOutput, flushOutput } from './output.js'
import { reportCrashesTo, runClaimed, unsendableResponse } from './runtime.js'
import { registerTypeScript } from './typescript-loader.js'
import type { BatchRequest, BatchResponse, OutputLine, PartialResult, ToWorker } from '../protocol/messages.js'

export interface ThreadWorkerData {
  info: InstanceInfo
  crashSlot: SharedArrayBuffer
  /** The node's claim words (protocol/claims.ts): a batch is run only once claimed. */
  claims: SharedArrayBuffer
  /** tsx's API, when the program runs under tsx and workers must register it themselves. */
  tsxApi: string | undefined
  /** Whether the pool that tasks submit to shares this process's memory (not when the thread is a node agent's). */
  sharedMemory: boolean
}

const data = workerData as ThreadWorkerData
reportCrashesTo(data.crashSlot)
// Not a top-level await: a thread terminated while its module graph is still evaluating
// asynchronously can abort the whole process in Node 20 (a V8 assertion).
const typescript = registerTypeScript(data.tsxApi)

/** The one Piscina task a worker runs: it hands over the port every later message uses. */
export default async function connect({ connect: port }: { connect: MessagePort }): Promise<void> {
  await typescript
  const pool = new PortPool(port, data.info.totalNodes, data.sharedMemory)
  setWorkerContext(data.info, pool)
  // Output travels on the same port as answers, so a call's lines arrive before its result.
  captureOutput((seq, stream, text) => port.postMessage({ output: [seq, stream, text] } satisfies OutputLine))
  const answer = (request: BatchRequest, response: BatchResponse) => {
    flushOutput(request)
    try {
      port.postMessage(response)
    } catch (thrown) {
      port.postMessage(unsendableResponse(request, response, thrown))
    }
  }
  // Results a long call sends ahead of its answer (a map chunk's, off this process: map-partial.ts).
  sendPartialsTo((seq, data) => port.postMessage({ partial: [seq, data] } satisfies PartialResult))
  const claims = new Int32Array(data.claims)
  port.on('message', (message: ToWorker) => {
    if (!Array.isArray(message)) return pool.reply(message)
    runClaimed(message, claims, (response) => answer(message, response))
  })
}
