// Task module for the parallelMap examples: ordinary exported functions, one item each.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

/** How many primes lie in [from, to): trial division, a few ms of CPU per range of 10,000. */
export function countPrimes(range: { from: number; to: number }): number {
  let count = 0
  for (let n = Math.max(2, range.from); n < range.to; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

/** One sensor reading; a blank or non-numeric one is an error. */
export function parseReading(text: string): number {
  const value = Number(text)
  if (text.trim() === '' || Number.isNaN(value)) throw new RangeError(`not a number: ${JSON.stringify(text)}`)
  return value
}

export interface CsvSummary {
  file: string
  rows: number
  total: number
  mean: number
}

/** Reads a CSV file of `id,value` rows (with a header) and sums its values. */
export function summarizeCsv(path: string): CsvSummary {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n').slice(1)
  const total = lines.reduce((sum, line) => sum + Number(line.split(',')[1]), 0)
  return { file: basename(path), rows: lines.length, total, mean: lines.length === 0 ? 0 : total / lines.length }
}
