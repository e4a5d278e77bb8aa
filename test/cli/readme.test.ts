// The README's CLI help is what `spindle --help` prints, character for character.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { cli, root, tempDir } from './helpers.js'

it('README "spindle --help" block equals main([\'--help\']) output', async () => {
  const readme = readFileSync(`${root}/README.md`, 'utf8')
  const block = /### `spindle --help`\n\n```text\n([\s\S]*?)```/.exec(readme)
  expect(block, 'README has no "### `spindle --help`" section with a text block').not.toBeNull()
  const { code, stdout } = await cli(['--help'], tempDir())
  expect(code).toBe(0)
  expect(block![1]).toBe(stdout)
})
