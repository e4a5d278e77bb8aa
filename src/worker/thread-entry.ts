// Piscina loads this file on each worker thread of the thread backend.
import { workerData } from 'node:worker_threads'
import { setWorkerContext } from './context.js'
import { reportCrashesTo, runBatch } from './runtime.js'
import { registerTypeScript } from './typescript-loader.js'
import type { ThreadWorkerData } from '../backends/thread/thread-node.js'

const data = workerData as ThreadWorkerData
setWorkerContext(data.info)
reportCrashesTo(data.crashSlot)
await registerTypeScript(data.tsxApi)
export default runBatch
