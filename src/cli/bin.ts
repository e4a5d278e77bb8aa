#!/usr/bin/env node
// The `spindle` executable: the only CLI file that touches `process`. The first Ctrl-C cancels
// the run (recorded as `cancelled`, pool closed); a second one exits at once. SIGTERM does the
// same, as Kubernetes and systemd stop a process with it: `spindle worker` leaves its pool,
// finishing the batches it began, instead of dying with them.
import { main } from './main.js'

const controller = new AbortController()
let interrupted = false
const stop = (signal: 'SIGINT' | 'SIGTERM') => () => {
  if (interrupted) process.exit(signal === 'SIGINT' ? 130 : 143)
  interrupted = true
  process.stderr.write(signal === 'SIGINT' ? '\nCancelling (Ctrl-C again to exit at once)...\n' : '\nStopping (SIGTERM)...\n')
  controller.abort(new Error(signal === 'SIGINT' ? 'cancelled by Ctrl-C (SIGINT)' : 'stopped by SIGTERM'))
}
process.on('SIGINT', stop('SIGINT'))
process.on('SIGTERM', stop('SIGTERM'))

// A reader that goes away (`spindle runs | head`) ends the output, not the command: what is
// written after that is dropped instead of crashing with an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error
  })
}

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), signal: controller.signal })
