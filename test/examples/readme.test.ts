// The README's code is the examples' code: every ts block must appear, verbatim, in a file under
// examples/ (which the example tests run), and the CLI-free quick start must name real scripts.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')
const examples = readdirSync(new URL('examples/', root))
  .filter((f) => f.endsWith('.ts') || f.endsWith('.mjs'))
  .map((f) => ({ file: f, text: readFileSync(new URL(`examples/${f}`, root), 'utf8') }))
const blocks = [...readme.matchAll(/```(?:ts|js)\n([\s\S]*?)```/g)].map((m) => m[1]!.trimEnd())

describe('README', () => {
  it('has code blocks', () => {
    expect(blocks.length).toBeGreaterThan(5)
  })

  it.each(blocks.map((block, i) => [i, block.split('\n')[0], block] as const))(
    'block %i (%s) comes from examples/',
    (_i, _first, block) => {
      const found = examples.find(({ text }) => text.includes(block))
      expect(found, `not found in any example:\n${block}`).toBeDefined()
    },
  )

  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
  })
})
