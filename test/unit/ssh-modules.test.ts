// What travels to an SSH host for a task module: the module with every file it imports by a
// relative specifier (static, from a folder above, at run time), laid out as here under one
// content hash, the module last; a TypeScript module bundled into one file by esbuild.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { DIST, moduleFrames } from '../../src/backends/agent/module-frames.js'

const fixture = (path: string) => new URL(`../fixtures/${path}`, import.meta.url).href

describe('task modules shipped to SSH hosts', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'spindle-ssh-modules-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it('ships the files a module imports by relative specifiers, at their relative places, the module last', () => {
    const frames = moduleFrames(fixture('relative/tasks.mjs'))
    const hash = frames[0]!.path.split('/')[0]!
    expect(hash).toMatch(/^[0-9a-f]{24}$/)
    expect(frames.map((f) => f.path).sort()).toEqual(
      ['relative-offset.mjs', 'relative/lib/scale.mjs', 'relative/lib/twice.mjs', 'relative/tasks.mjs'].map((name) => `${hash}/${name}`),
    )
    expect(frames.at(-1)!.ship, 'the module itself, under the URL remote() was given').toBe(fixture('relative/tasks.mjs'))
    expect(frames.find((f) => f.path.endsWith('scale.mjs'))!.ship).toBe(fixture('relative/lib/scale.mjs'))
  })

  it('bundles a TypeScript module with what it imports relatively into one .mjs', () => {
    const [frame, ...more] = moduleFrames(fixture('relative/typed.ts'))
    expect(more).toEqual([])
    expect(frame!.ship).toBe(fixture('relative/typed.ts'))
    expect(frame!.path).toMatch(/^[0-9a-f]{24}\/typed\.mjs$/)
    const code = Buffer.from(frame!.source).toString('utf8')
    expect(code).toContain('function label(')
    expect(code).not.toMatch(/from\s+["']\.\/lib/)
  })

  it('changes the hash when an imported file changes, and ignores specifiers of files that do not exist', () => {
    const write = (name: string, text: string) => writeFileSync(join(scratch, name), text)
    write('helper-a.mjs', 'export const n = 1\n')
    write('main-a.mjs', "// import('./missing.mjs') is only a comment\nimport { n } from './helper-a.mjs'\nexport const f = () => n\n")
    write('helper-b.mjs', 'export const n = 2\n')
    write('main-b.mjs', "// import('./missing.mjs') is only a comment\nimport { n } from './helper-b.mjs'\nexport const f = () => n\n")
    const a = moduleFrames(pathToFileURL(join(scratch, 'main-a.mjs')).href)
    const b = moduleFrames(pathToFileURL(join(scratch, 'main-b.mjs')).href)
    expect(a.map((f) => f.path.split('/')[1])).toEqual(['helper-a.mjs', 'main-a.mjs'])
    expect(a[0]!.path.split('/')[0]).not.toBe(b[0]!.path.split('/')[0])
  })

  it('ships nothing for spindle\'s own modules, and names a module that cannot be read', () => {
    expect(moduleFrames(new URL('worker/map-chunk.js', DIST).href)).toEqual([])
    expect(() => moduleFrames(pathToFileURL(join(scratch, 'nope.mjs')).href)).toThrow(
      expect.objectContaining({ code: 'ERR_SPINDLE_MODULE_NOT_FOUND', message: expect.stringContaining('nope.mjs') }),
    )
  })
})
