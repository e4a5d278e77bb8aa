/**
 * A worker as its own process: `node worker-main.js URL POOL WORKERS_PER_NODE`, what
 * `spindle worker` will run. It leaves the pool on SIGTERM or SIGINT (finishing what it began).
 */
import { startRedisWorker } from './redis-worker.js'

const [url, pool, threads = '1'] = process.argv.slice(2)
if (url === undefined || pool === undefined) {
  process.stderr.write('usage: worker-main.js URL POOL [WORKERS_PER_NODE]\n')
  process.exit(2)
}
const worker = await startRedisWorker({ url, pool, workersPerNode: Number(threads), heartbeatMs: Number(process.env.SPINDLE_REDIS_HEARTBEAT_MS ?? 1000) })
process.stdout.write(`${worker.id}\n`)
const leave = () => void worker.stop().then(() => process.exit(0))
process.once('SIGTERM', leave)
process.once('SIGINT', leave)
