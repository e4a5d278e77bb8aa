/**
 * Task modules travel to SSH hosts by content, with the files of yours they import: a module is
 * read when a host first needs it and written on the host under `tasks/<hash>/` in the bundle's
 * directory, where `import 'spindle'` finds the bundle's own copy.
 *
 * - A JavaScript module goes as it is, with every file it imports by a relative specifier
 *   (`./lib/util.js`, `../shared.mjs`, static or `import('./x.js')`), transitively, at the same
 *   relative places under one hash (of all of them), so those imports resolve there as here.
 * - A TypeScript module is bundled by esbuild (which tsx brings): its relative imports are
 *   compiled into it; packages stay imports.
 *
 * Other imports must resolve on the host (node: built-ins, or packages installed there).
 * Specifiers are found by a scan, not a parse: one inside a comment or a string only ships a
 * file that exists and is not used; an import computed at run time is not seen.
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { SpindleError } from '../../errors.js'
import type { ModuleFrame } from './frames.js'

/** spindle's own dist/ (the bundle has it): modules there are not shipped. */
export const DIST = new URL('../../', import.meta.url).href
const cache = new Map<string, ModuleFrame[]>()

/** `from './x'`, `import './x'`, `import('./x')`: relative specifiers only. */
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*(['"])(\.{1,2}\/[^'"\n]+)\1/g
const SCANNED = /\.[mc]?js$/

/**
 * The frames that ship `url` to a host, the files it imports first and the module itself last;
 * none when the host has it already (spindle's own, or not a file).
 */
export function moduleFrames(url: string): ModuleFrame[] {
  let frames = cache.get(url)
  if (frames === undefined) {
    frames = url.startsWith(DIST) || !url.startsWith('file:') ? [] : read(url)
    cache.set(url, frames)
  }
  return frames
}

function read(url: string): ModuleFrame[] {
  const root = fileURLToPath(url)
  // Where each file goes (the module compiled from TypeScript is a .mjs) and its contents.
  const files = /\.[mc]?tsx?$/.test(root)
    ? new Map([[root.replace(/\.[mc]?tsx?$/, '.mjs'), Buffer.from(bundle(root))]])
    : importGraph(root)
  // One directory above them all keeps every relative specifier true on the host.
  const paths = [...files.keys()]
  const base = paths.reduce((dir, path) => commonDir(dir, dirname(path)), dirname(paths[0]!))
  const hash = createHash('sha256')
  const entries = paths.map((path) => [relative(base, path).split(sep).join('/'), files.get(path)!] as const)
  for (const [name, source] of entries) hash.update(name).update('\0').update(source).update('\0')
  const digest = hash.digest('hex').slice(0, 24)
  // importGraph lists the root first: it goes last, once what it imports is on the host.
  return entries
    .map(([name, source], i) => ({ ship: i === 0 ? url : pathToFileURL(paths[i]!).href, path: `${digest}/${name}`, source }))
    .reverse()
}

/** `root` and the files it imports by relative specifiers, transitively: path → contents. */
function importGraph(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  const pending = [root]
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue
    const source = readModule(file, file === root ? undefined : root)
    files.set(file, source)
    if (!SCANNED.test(file)) continue // JSON and the like: shipped, not scanned
    for (const match of source.toString('utf8').matchAll(RELATIVE_IMPORT)) {
      const target = fileURLToPath(new URL(match[2]!.split(/[?#]/)[0]!, pathToFileURL(file)))
      if (!files.has(target) && isFile(target)) pending.push(target)
    }
  }
  return files
}

function readModule(file: string, importedBy: string | undefined): Buffer {
  try {
    return readFileSync(file)
  } catch (cause) {
    const what = importedBy === undefined ? 'task module' : `file imported by task module ${importedBy}`
    throw new SpindleError(
      'ERR_SPINDLE_MODULE_NOT_FOUND',
      `Cannot read ${what} ${file} to send it to the SSH hosts: ${(cause as Error).message}. Check the URL given to remote().`,
      { cause },
    )
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

function commonDir(a: string, b: string): string {
  while (a !== b && !b.startsWith(a.endsWith(sep) ? a : a + sep)) a = dirname(a)
  return a
}

/** A TypeScript module as one ES module: its relative imports compiled in, packages left as imports. */
function bundle(file: string): string {
  readModule(file, undefined) // a missing module says so in our words, not esbuild's
  let esbuild: { buildSync(options: object): { outputFiles: Array<{ text: string }> } }
  try {
    esbuild = createRequire(file)('esbuild') as typeof esbuild
  } catch (cause) {
    throw new SpindleError(
      'ERR_SPINDLE_MODULE_NOT_FOUND',
      `Task module ${file} is TypeScript, and esbuild (which tsx brings) is not installed to compile it for the SSH hosts. ` +
        'Install tsx, or build the module to .js and pass that URL to remote().',
      { cause },
    )
  }
  const options = { entryPoints: [file], bundle: true, packages: 'external', format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent' }
  return esbuild.buildSync(options).outputFiles[0]!.text
}
