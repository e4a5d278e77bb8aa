// Piscina loads this file on each worker thread of the thread backend.
import { workerData, type MessagePort } from 'node:worker_threads'
import type { InstanceInfo } from './context.js'
import { setWorkerContext } from './context.js'
import { reportCrashesTo, runBatch } from './runtime.js'
import { registerTypeScript } from './typescript-loader.js'
import type { BatchRequest, BatchResponse } from '../protocol/messages.js'

export interface ThreadWorkerData {
  info: InstanceInfo
  crashSlot: SharedArrayBuffer
  /** tsx's API, when the program runs under tsx and workers must register it themselves. */
  tsxApi: string | undefined
}

/** The first batch a worker runs, with the port that later batches arrive on. */
export interface ConnectMessage {
  connect: MessagePort
  batch: BatchRequest
}

const data = workerData as ThreadWorkerData
setWorkerContext(data.info)
reportCrashesTo(data.crashSlot)
await registerTypeScript(data.tsxApi)

export default function handle(message: ConnectMessage | BatchRequest): BatchResponse | Promise<BatchResponse> {
  if (Array.isArray(message)) return runBatch(message)
  const port = message.connect
  port.on('message', (batch: BatchRequest) => {
    const response = runBatch(batch)
    if (Array.isArray(response)) port.postMessage(response)
    else void response.then((r) => port.postMessage(r))
  })
  return runBatch(message.batch)
}
