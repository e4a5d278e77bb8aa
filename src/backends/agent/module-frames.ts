/**
 * Task modules travel to agents that cannot read the caller's files (SSH hosts, Redis workers)
 * by content, with the files of yours they import: a module is read when an agent first needs it
 * and written there under `<hash>/` in a cache (module-cache.ts) where `import 'spindle'` finds
 * the agent's own copy.
 *
 * - A JavaScript module goes as it is, with every file it imports by a relative specifier
 *   (`./lib/util.js`, `../shared.mjs`, static or `import('./x.js')`), transitively, at the same
 *   relative places under one hash (of all of them), so those imports resolve there as here.
 * - A TypeScript module is bundled by esbuild (which tsx brings): its relative imports are
 *   compiled into it; packages stay imports.
 *
 * Other imports must resolve where the agent runs (node: built-ins, or packages installed there).
 * Specifiers are found by a scan, not a parse: one inside a comment or a string only ships a
 * file that exists and is not used; an import computed at run time is not seen.
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { SpindleError } from '../../errors.js'
import type { BatchRequest, BatchResponse } from '../../protocol/messages.js'
import { everyCallFailed } from './agent-replies.js'

/** Caller → agent: a task module's source, to be written to the agent's cache before a batch uses it. */
export interface ModuleFrame {
  /** The module's URL on the caller's side. */
  readonly ship: string
  /** `<content hash>/<file name>`, a path in the agent's cache. */
  readonly path: string
  readonly source: Uint8Array
}

/** spindle's own dist/ (the bundle has it): modules there are not shipped. */
export const DIST = new URL('../../', import.meta.url).href
const cache = new Map<string, ModuleFrame[]>()

/** `from './x'`, `import './x'`, `import('./x')`: relative specifiers only. */
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*(['"])(\.{1,2}\/[^'"\n]+)\1/g
const SCANNED = /\.[mc]?js$/

/**
 * The frames that ship `url` to an agent, the files it imports first and the module itself last;
 * none when the agent has it already (spindle's own, or not a file).
 */
export function moduleFrames(url: string): ModuleFrame[] {
  let frames = cache.get(url)
  if (frames === undefined) {
    frames = url.startsWith(DIST) || !url.startsWith('file:') ? [] : read(url)
    cache.set(url, frames)
  }
  return frames
}

/**
 * Sends (`send`) the frames of the modules `batch` needs that `shipped` (one agent's) lacks, and
 * notes them. A module that cannot be read or compiled fails every call of the batch, saying
 * so, through `done`: then false, and the batch is not to be sent.
 */
export function shipModules(batch: BatchRequest, shipped: Set<string>, send: (frame: ModuleFrame) => void, done: (response: BatchResponse) => void): boolean {
  for (const [, module] of batch[0] ?? []) {
    if (shipped.has(module)) continue
    let frames
    try {
      frames = moduleFrames(module)
    } catch (error) {
      done(everyCallFailed(batch, error))
      return false
    }
    shipped.add(module)
    for (const frame of frames) send(frame)
  }
  return true
}

function read(url: string): ModuleFrame[] {
  const root = fileURLToPath(url)
  // Where each file goes (the module compiled from TypeScript is a .mjs) and its contents.
  const files = /\.[mc]?tsx?$/.test(root)
    ? new Map([[root.replace(/\.[mc]?tsx?$/, '.mjs'), Buffer.from(bundle(root))]])
    : importGraph(root)
  // One directory above them all keeps every relative specifier true there.
  const paths = [...files.keys()]
  const base = paths.reduce((dir, path) => commonDir(dir, dirname(path)), dirname(paths[0]!))
  const hash = createHash('sha256')
  const entries = paths.map((path) => [relative(base, path).split(sep).join('/'), files.get(path)!] as const)
  for (const [name, source] of entries) hash.update(name).update('\0').update(source).update('\0')
  const digest = hash.digest('hex').slice(0, 24)
  // importGraph lists the root first: it goes last, once what it imports is there.
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
      `Cannot read ${what} ${file} to send it to the remote nodes: ${(cause as Error).message}. Check the URL given to remote().`,
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
      `Task module ${file} is TypeScript, and esbuild (which tsx brings) is not installed to compile it for the remote nodes. ` +
        'Install tsx, or build the module to .js and pass that URL to remote().',
      { cause },
    )
  }
  const options = { entryPoints: [file], bundle: true, packages: 'external', format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent' }
  return esbuild.buildSync(options).outputFiles[0]!.text
}
