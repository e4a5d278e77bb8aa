// Piscina loads this file on each worker thread of the thread backend.
import { workerData, type MessagePort } from 'node:worker_threads'
import { setWorkerContext, type InstanceInfo } from './context.js'
import { markBatchStarted, markUp, progressHeader } from './crash-slot.js'
import { PortPool } from './nested-pool.js'
import { captureOutput, flushOutput } from './output.js'
import { onBatchBegin, reportCrashesTo, runBatch, unsendableResponse } from './runtime.js'
import { registerTypeScript } from './typescript-loader.js'
import type { BatchRequest, BatchResponse, NestedReply, OutputLine } from '../protocol/messages.js'

export interface ThreadWorkerData {
  info: InstanceInfo
  crashSlot: SharedArrayBuffer
  /** tsx's API, when the program runs under tsx and workers must register it themselves. */
  tsxApi: string | undefined
}

const data = workerData as ThreadWorkerData
reportCrashesTo(data.crashSlot)
// Not a top-level await: a thread terminated while its module graph is still evaluating
// asynchronously can abort the whole process in Node 20 (a V8 assertion).
const typescript = registerTypeScript(data.tsxApi)

/** The one Piscina task a worker runs: it hands over the port every later message uses. */
export default async function connect({ connect: port }: { connect: MessagePort }): Promise<void> {
  await typescript
  const pool = new PortPool(port, data.info.totalNodes, data.info.backend !== 'process' && data.info.backend !== 'ssh')
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
  // What this worker began is what a crash can be blamed on (crash-slot.ts, Progress).
  const progress = progressHeader(data.crashSlot)
  onBatchBegin((batchId) => markBatchStarted(progress, batchId))
  markUp(data.crashSlot)
  port.on('message', (message: BatchRequest | NestedReply) => {
    if (!Array.isArray(message)) return pool.reply(message)
    const response = runBatch(message)
    if (Array.isArray(response)) answer(message, response)
    else void response.then((r) => answer(message, r))
  })
}
