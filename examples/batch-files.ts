// Batch processing of files: glob() is a lazy file source for parallelMap.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Compute, glob, parallelMap, remote } from 'spindle'

const t = remote<typeof import('./map-tasks.js')>(new URL('./map-tasks.ts', import.meta.url))

// 24 CSV files of made-up readings in a temporary directory, removed when the script ends.
const dir = mkdtempSync(join(tmpdir(), 'spindle-batch-'))
using _removeDir = { [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }
for (let k = 0; k < 24; k++) {
  const rows = Array.from({ length: 40 + k }, (_, row) => `${row},${(k * 37 + row * 11) % 100}`)
  writeFileSync(join(dir, `readings-${String(k).padStart(2, '0')}.csv`), `id,value\n${rows.join('\n')}\n`)
}

await using compute = await Compute.start({ workers: 2 })

const summaries = await parallelMap(glob('*.csv', { cwd: dir }), t.summarizeCsv, {
  compute,
  onProgress: (done) => process.stderr.write(`\rsummarized ${done} files`), // no total: glob streams
})
process.stderr.write('\n')

summaries.sort((a, b) => a.file.localeCompare(b.file)) // glob yields in directory order
for (const s of summaries) console.log(`${s.file}: ${s.rows} rows, total ${s.total}, mean ${s.mean.toFixed(2)}`)
const rows = summaries.reduce((n, s) => n + s.rows, 0)
const total = summaries.reduce((n, s) => n + s.total, 0)
console.log(`All ${summaries.length} files: ${rows} rows, total ${total}, mean ${(total / rows).toFixed(2)}`)
