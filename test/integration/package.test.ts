// The package as a new user gets it: `npm pack`, installed into a fresh project, then imported,
// type-checked against its declarations, and its `spindle` bin run. Nothing stray is shipped, and
// every source map points at a file the package ships.
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runRedisTests, startRedisLab } from '../helpers/redis.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

describe('the packed package, installed into a fresh project', () => {
  let dir = ''
  let files: string[] = []
  let app = ''
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-package-'))
    const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', dir], { cwd: root, maxBuffer: 64 << 20 })
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    files = packed!.files.map((f) => f.path)
    app = join(dir, 'app')
    await run('mkdir', ['-p', app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    await run(npm, ['install', join(dir, packed!.filename), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app, timeout: 240_000 })
  }, 300_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('ships dist/, src/, the README, the LICENSE and package.json, and nothing else', () => {
    const stray = files.filter((f) => !/^(dist|src)\//.test(f) && !['README.md', 'LICENSE', 'package.json'].includes(f))
    expect(stray).toEqual([])
    expect(files).toContain('dist/index.js')
    expect(files).toContain('dist/index.d.ts')
    expect(files.some((f) => f.includes('.test.') || f.startsWith('test/') || f.startsWith('bench/'))).toBe(false)
  })

  it('every source map points at files the package ships', () => {
    const shipped = new Set(files)
    const maps = files.filter((f) => f.endsWith('.map'))
    expect(maps.length).toBeGreaterThan(10)
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(app, 'node_modules/spindle', map), 'utf8')) as { sources: string[] }
      for (const source of sources) {
        const target = join(dirname(map), source).replace(/\\/g, '/')
        expect(shipped.has(target), `${map} → ${source}`).toBe(true)
      }
    }
  })

  it('imports and runs a task on worker threads; the bin answers --version', async () => {
    writeFileSync(join(app, 'tasks.mjs'), 'export function square(x) { return x * x }\n')
    writeFileSync(
      join(app, 'main.mjs'),
      [
        "import { Compute, remote, parallelMap } from 'spindle'",
        "const t = remote(new URL('./tasks.mjs', import.meta.url))",
        'const compute = await Compute.start({ workers: 2 })',
        'try {',
        '  console.log(await compute.run(t.square(7)), (await parallelMap([1, 2, 3], t.square, { compute })).join(","))',
        '} finally {',
        '  await compute.close()',
        '}',
      ].join('\n'),
    )
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: app, timeout: 60_000 })
    expect(stdout).toBe('49 1,4,9\n')
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string
    const bin = await run(join(app, 'node_modules/.bin/spindle'), ['--version'], { cwd: app, timeout: 30_000 })
    expect(bin.stdout).toBe(`spindle ${version}\n`)
  })

  // A task module where nothing is installed (no node_modules above it) imports 'spindle': it runs
  // only as the copy shipped into the installed worker's cache, where 'spindle' resolves.
  it.runIf(runRedisTests)('`spindle worker` from the package serves a Redis pool; a task module travels to it by content', async () => {
    const lab = await startRedisLab()
    const worker = spawn(join(app, 'node_modules/.bin/spindle'), ['worker', '--redis', lab.url, '--pool', 'packed', '--workers-per-node', '2'], { cwd: app, stdio: ['ignore', 'ignore', 'pipe'] })
    try {
      const elsewhere = join(dir, 'elsewhere')
      mkdirSync(elsewhere, { recursive: true })
      writeFileSync(join(elsewhere, 'where.mjs'), "import { instanceInfo } from 'spindle'\nexport function where(x) { return [x * 2, instanceInfo().backend, import.meta.url] }\n")
      writeFileSync(
        join(app, 'redis-main.mjs'),
        [
          "import { Compute, remote } from 'spindle'",
          `const t = remote(${JSON.stringify(pathToFileURL(join(elsewhere, 'where.mjs')).href)})`,
          `const compute = await Compute.start({ backend: 'redis', redis: { url: ${JSON.stringify(lab.url)} }, pool: 'packed', minNodes: 1, startTimeout: 60_000 })`,
          'try {',
          '  console.log(JSON.stringify(await compute.run(t.where(21))))',
          '} finally {',
          '  await compute.close()',
          '}',
        ].join('\n'),
      )
      const { stdout } = await run(process.execPath, ['redis-main.mjs'], { cwd: app, timeout: 60_000 })
      const [value, backend, url] = JSON.parse(stdout) as [number, string, string]
      expect([value, backend]).toEqual([42, 'redis'])
      expect(url).toContain('/node_modules/spindle/.cache/tasks/')
      expect(readdirSync(join(app, 'node_modules/spindle/.cache/tasks'))).toHaveLength(1)
    } finally {
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.kill('SIGTERM')
      await exited
      await lab.stop()
    }
  })

  it("type-checks a user's program against the shipped declarations: right calls pass, wrong ones do not", async () => {
    writeFileSync(
      join(app, 'tasks.ts'),
      [
        'export function scale(x: number, by: number): number { return x * by }',
        'export class Counter { constructor(private n: number) {} add(k: number): number { return (this.n += k) } }',
      ].join('\n'),
    )
    writeFileSync(
      join(app, 'main.ts'),
      [
        "import { Compute, remote, gather } from 'spindle'",
        "const t = remote<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url))",
        'const compute = await Compute.start()',
        'const [a, b]: [number, number] = await compute.run(gather(t.scale(2, 3), t.scale(t.scale(1, 2), 4)))',
        '// @ts-expect-error a string is not a number',
        "t.scale('2', 3)",
        '// An actor: typed from its class, with no DOM types needed (comlink declares some).',
        'await using counter = await compute.actor(t.Counter, 10)',
        'const c: number = await counter.add(5)',
        '// @ts-expect-error add takes a number',
        "counter.add('5')",
        'export { a, b, c }',
      ].join('\n'),
    )
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [resolve(root, 'node_modules/@types')], lib: ['ES2023', 'ESNext.Disposable'] }, include: ['main.ts', 'tasks.ts'] }),
    )
    const tsc = resolve(root, 'node_modules/typescript/bin/tsc')
    expect(existsSync(tsc)).toBe(true)
    const checked = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, timeout: 120_000 }).then(
      () => 'ok',
      (error: { stdout: string }) => error.stdout,
    )
    expect(checked).toBe('ok')
  })
})
