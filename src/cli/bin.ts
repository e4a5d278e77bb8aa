#!/usr/bin/env node
// The `spindle` executable: the only CLI file that touches `process`. The first Ctrl-C cancels
// the run (recorded as `cancelled`, pool closed); a second one exits at once.
import { main } from './main.js'

const controller = new AbortController()
let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  process.stderr.write('\nCancelling (Ctrl-C again to exit at once)...\n')
  controller.abort(new Error('cancelled by Ctrl-C (SIGINT)'))
})

// A reader that goes away (`spindle runs | head`) ends the output, not the command: what is
// written after that is dropped instead of crashing with an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error
  })
}

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), signal: controller.signal })
