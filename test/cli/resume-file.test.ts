// `spindle resume <id>` imports the pipeline file recorded in the run's invocation.json, so it takes
// that file from the run log only when it lies inside the run's recorded working directory.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cli, fixture, tempDir } from './helpers.js'

let cwd: string
let elsewhere: string
beforeEach(() => {
  cwd = tempDir()
  elsewhere = tempDir()
})
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true })
  rmSync(elsewhere, { recursive: true, force: true })
})

const idOf = (stdout: string) => /^Run (\S+) of /m.exec(stdout)![1]!
const invocationOf = (id: string) => join(cwd, '.spindle/runs', id, 'invocation.json')
/** A pipeline file in `dir` that is the fixture `ok.mjs`. */
const pipelineIn = (dir: string, name = 'pipeline.mjs') => {
  const file = join(dir, name)
  writeFileSync(file, `export { default } from ${JSON.stringify(pathToFileURL(fixture('ok.mjs')).href)}\n`)
  return file
}

describe('spindle resume and the recorded pipeline file', () => {
  it('records the working directory, and resumes from a file inside it without naming it', async () => {
    mkdirSync(join(cwd, 'pipelines'))
    const ran = await cli(['run', pipelineIn(join(cwd, 'pipelines')), '--no-progress'], cwd)
    expect(ran.code, ran.stderr).toBe(0)
    expect(JSON.parse(readFileSync(invocationOf(idOf(ran.stdout)), 'utf8'))).toMatchObject({ file: join(cwd, 'pipelines', 'pipeline.mjs'), cwd })
    const resumed = await cli(['resume', idOf(ran.stdout), '--no-progress'], cwd)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toMatch(/^ {2}a +succeeded .*\(reused from resume\)$/m)
  })

  it('refuses a recorded file outside the run\'s working directory, with a code and a hint; named on the command line, it runs', async () => {
    const outside = fixture('ok.mjs')
    const ran = await cli(['run', outside, '--no-progress'], cwd)
    expect(ran.code, ran.stderr).toBe(0)
    const id = idOf(ran.stdout)
    const refused = await cli(['resume', id], cwd)
    expect(refused.code).toBe(2)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain(
      `Run "${id}" records the pipeline file ${outside}, but it is outside the run's working directory ${cwd}. Resuming imports that file ` +
        `and runs its code, so spindle takes it from the run log only inside that directory. If you trust it, name it: \`spindle resume ${id} ${outside}\`. [ERR_SPINDLE_RESUME_FILE_OUTSIDE]`,
    )
    const named = await cli(['resume', id, outside, '--no-progress'], cwd)
    expect(named.code, named.stderr).toBe(0)
  })

  it('never imports a file planted in invocation.json: outside by path, through a symbolic link, or with no working directory recorded', async () => {
    const ran = await cli(['run', pipelineIn(cwd), '--no-progress'], cwd)
    expect(ran.code, ran.stderr).toBe(0)
    const id = idOf(ran.stdout)
    const marker = join(elsewhere, 'imported')
    const planted = join(elsewhere, 'planted.mjs')
    writeFileSync(planted, `import { writeFileSync } from 'node:fs'\nwriteFileSync(${JSON.stringify(marker)}, 'ran')\nexport { default } from ${JSON.stringify(pathToFileURL(fixture('ok.mjs')).href)}\n`)
    symlinkSync(planted, join(cwd, 'link.mjs'))
    const recorded = JSON.parse(readFileSync(invocationOf(id), 'utf8')) as Record<string, unknown>
    const plants = [
      { ...recorded, file: join(cwd, '..', elsewhere.split('/').at(-1)!, 'planted.mjs') }, // ../ out of the directory
      { ...recorded, file: join(cwd, 'link.mjs') }, // inside by name, outside once the link is followed
      { ...recorded, file: pipelineIn(cwd), cwd: undefined }, // an invocation that names no directory
    ]
    for (const plant of plants) {
      writeFileSync(invocationOf(id), JSON.stringify(plant))
      const refused = await cli(['resume', id, '--no-progress'], cwd)
      expect(refused.code, refused.stdout).toBe(2)
      expect(refused.stderr).toContain('[ERR_SPINDLE_RESUME_FILE_OUTSIDE]')
    }
    expect(existsSync(marker)).toBe(false)
  })
})
