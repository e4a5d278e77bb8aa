/**
 * The bundle an SSH host needs to be a node: spindle's own dist/ files and its runtime
 * dependencies (piscina and what they import), laid out as an installed package
 * (`node_modules/spindle/dist/...`, `node_modules/piscina/...`) so that a task module copied
 * under it finds `import 'spindle'` as it does here. Content-hashed: a host keeps one directory
 * per hash, and a second run finds it there and uploads nothing. Built once per process.
 *
 * Optional dependencies (native add-ons such as @napi-rs/nice) are left out: they are built for
 * this machine's platform, and piscina runs without them. So are the dependencies only the caller
 * uses (CALLER_ONLY): esbuild, with its 11 MB native binary, compiles TypeScript task modules before
 * they are shipped, and tsx loads `.ts` pipelines in the CLI; nothing on a host imports them.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serialize } from 'node:v8'
import { gzipSync } from 'node:zlib'

export interface Bundle {
  /** SHA-256 of every path and content, hex (the first 24 characters name the host's directory). */
  readonly hash: string
  /** gzip of v8.serialize([[path, content, mode], ...]): what the bootstrap unpacks. */
  readonly archive: Buffer
  /** Where the agent lives in the bundle. */
  readonly agent: string
}

/** spindle's package root: dist/backends/ssh/bundle.js → ../../../ */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SKIP = /(\.d\.ts|\.d\.mts|\.map|\.md|\.tsbuildinfo)$/i
const CALLER_ONLY = new Set(['esbuild', 'tsx'])

let built: Bundle | undefined

export function bundle(): Bundle {
  return (built ??= build())
}

function build(): Bundle {
  const files: Array<[string, Buffer, number]> = []
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson
  files.push(['node_modules/spindle/package.json', readFileSync(join(ROOT, 'package.json')), 0o644])
  addTree(files, join(ROOT, 'dist'), 'node_modules/spindle/dist')
  const done = new Set<string>()
  const visit = (pkg: PackageJson, from: string, at: string) => {
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      if (pkg === own && CALLER_ONLY.has(name)) continue
      const found = locate(name, from)
      if (found === undefined || done.has(found.dir)) continue // a dependency the host may not need: piscina's optional ones
      done.add(found.dir)
      const target = found.nested ? `${at}/node_modules/${name}` : `node_modules/${name}`
      addTree(files, found.dir, target)
      visit(JSON.parse(readFileSync(join(found.dir, 'package.json'), 'utf8')) as PackageJson, found.dir, target)
    }
  }
  visit(own, ROOT, 'node_modules/spindle')
  files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const hash = createHash('sha256')
  for (const [path, content, mode] of files) hash.update(`${path}\0${mode}\0${content.length}\0`).update(content)
  return {
    hash: hash.digest('hex').slice(0, 24),
    archive: gzipSync(serialize(files), { level: 6 }),
    agent: 'node_modules/spindle/dist/backends/ssh/agent-ssh.js',
  }
}

interface PackageJson {
  dependencies?: Record<string, string>
}

/** Node's lookup: `name` in the node_modules of `from` or of a directory above it. */
function locate(name: string, from: string): { dir: string; nested: boolean } | undefined {
  for (let dir = from, first = true; ; first = false) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return { dir: candidate, nested: first && from !== ROOT }
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

function addTree(files: Array<[string, Buffer, number]>, dir: string, target: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') addTree(files, path, `${target}/${entry.name}`)
    } else if (entry.isFile() && !SKIP.test(entry.name)) {
      files.push([`${target}/${relative(dir, path).split(sep).join('/')}`, readFileSync(path), statSync(path).mode & 0o777])
    }
  }
}
