import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { glob } from '../../src/map/glob.js'
import { InvalidOptionError } from '../../src/errors.js'

let dir: string

beforeEach(() => {
  dir = fs.mkdtempSync(os.tmpdir() + '/spindle-glob-')
  for (const file of ['a.csv', 'b.csv', 'notes.txt', 'sub/c.csv', 'sub/deep/d.csv', 'old/e.csv', '.hidden.csv']) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    fs.writeFileSync(path.join(dir, file), 'id,value\n1,2\n')
  }
})

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

async function collect(source: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const file of source) out.push(file)
  return out.sort()
}

const abs = (...files: string[]): string[] => files.map((f) => path.join(dir, f)).sort()

describe('glob', () => {
  it('yields the matching files as absolute paths by default', async () => {
    expect(await collect(glob('*.csv', { cwd: dir }))).toEqual(abs('a.csv', 'b.csv'))
  })

  it('yields paths relative to cwd with absolute: false', async () => {
    expect(await collect(glob('**/*.csv', { cwd: dir, absolute: false }))).toEqual(['a.csv', 'b.csv', 'old/e.csv', 'sub/c.csv', 'sub/deep/d.csv'])
  })

  it('takes several patterns and an absolute pattern without cwd', async () => {
    expect(await collect(glob(['*.txt', 'sub/*.csv'], { cwd: dir }))).toEqual(abs('notes.txt', 'sub/c.csv'))
    expect(await collect(glob(`${dir}/sub/**/*.csv`))).toEqual(abs('sub/c.csv', 'sub/deep/d.csv'))
  })

  it('leaves out what `ignore` matches', async () => {
    expect(await collect(glob('**/*.csv', { cwd: dir, ignore: ['old/**', '**/deep/**'] }))).toEqual(abs('a.csv', 'b.csv', 'sub/c.csv'))
  })

  it('matches dot files only with dot: true, and never directories', async () => {
    expect(await collect(glob('*', { cwd: dir, absolute: false }))).toEqual(['a.csv', 'b.csv', 'notes.txt'])
    expect(await collect(glob('*', { cwd: dir, absolute: false, dot: true }))).toEqual(['.hidden.csv', 'a.csv', 'b.csv', 'notes.txt'])
  })

  it('yields nothing when nothing matches, and globs afresh on each iteration', async () => {
    expect(await collect(glob('*.json', { cwd: dir }))).toEqual([])
    const source = glob('*.csv', { cwd: dir })
    expect(await collect(source)).toHaveLength(2)
    fs.writeFileSync(path.join(dir, 'z.csv'), '')
    expect(await collect(source)).toEqual(abs('a.csv', 'b.csv', 'z.csv'))
  })

  it('stops cleanly when the consumer leaves early', async () => {
    const seen: string[] = []
    for await (const file of glob('**/*.csv', { cwd: dir })) {
      seen.push(file)
      break
    }
    expect(seen).toHaveLength(1)
  })

  it('fails the iteration when cwd does not exist or is a file', async () => {
    await expect(collect(glob('*.csv', { cwd: path.join(dir, 'missing') }))).rejects.toThrow(/`cwd` ".*missing" does not exist/)
    await expect(collect(glob('*.csv', { cwd: path.join(dir, 'a.csv') }))).rejects.toThrow(/is not a directory/)
  })

  it('checks its arguments at once, with InvalidOptionError', () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => glob(42 as never), /Expected `patterns` to be a glob pattern or an array of them .*got `42` \(number\)/],
      [() => glob(''), /`patterns`.*got `""` \(string\)/],
      [() => glob(['*.csv', 7] as never), /`patterns`.*\["\*\.csv",7\]/],
      [() => glob('*', null as never), /options to be an object, got `null` \(null\)/],
      [() => glob('*', { cwd: '' }), /Expected `cwd` to be a directory path, got `""`/],
      [() => glob('*', { absolute: 'yes' as never }), /Expected `absolute` to be a boolean, got `"yes"` \(string\)/],
      [() => glob('*', { dot: 1 as never }), /Expected `dot` to be a boolean/],
      [() => glob('*', { ignore: 'old/**' as never }), /Expected `ignore` to be an array of glob patterns, got `"old\/\*\*"`/],
      [() => glob('*', { cwdd: dir } as never), /Unknown option "cwdd" for glob\(\)\. Did you mean "cwd"\?/],
    ]
    for (const [call, message] of bad) {
      expect(call).toThrow(InvalidOptionError)
      expect(call).toThrow(message)
    }
  })
})
