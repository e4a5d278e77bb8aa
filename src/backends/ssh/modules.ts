/**
 * Task modules travel to SSH hosts by content: a module is read (and, if it is TypeScript,
 * compiled with esbuild, which tsx brings) when a host first needs it, and written on the host
 * under `tasks/<hash>/<name>` in the bundle's directory, where `import 'spindle'` finds the
 * bundle's own copy. Its other imports must resolve on the host (node: built-ins, or packages
 * installed there): the module is shipped alone, not with what it imports.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SpindleError } from '../../errors.js'
import type { ModuleFrame } from './frames.js'

/** spindle's own dist/ (the bundle has it): modules there are not shipped. */
export const DIST = new URL('../../', import.meta.url).href
const cache = new Map<string, ModuleFrame | undefined>()

/** The frame that ships `url` to a host, or undefined when the host has it already (spindle's own, or not a file). */
export function moduleFrame(url: string): ModuleFrame | undefined {
  if (cache.has(url)) return cache.get(url)
  const frame = url.startsWith(DIST) || !url.startsWith('file:') ? undefined : read(url)
  cache.set(url, frame)
  return frame
}

function read(url: string): ModuleFrame {
  const file = fileURLToPath(url)
  let source: Buffer
  try {
    source = readFileSync(file)
  } catch (cause) {
    throw new SpindleError(
      'ERR_SPINDLE_MODULE_NOT_FOUND',
      `Cannot read task module ${url} to send it to the SSH hosts: ${(cause as Error).message}. Check the URL given to remote().`,
      { cause },
    )
  }
  let name = basename(file)
  if (/\.[mc]?tsx?$/.test(name)) {
    source = Buffer.from(compile(file, source.toString('utf8')))
    name = name.replace(/\.[mc]?tsx?$/, '.mjs')
  }
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 24)
  return { ship: url, path: `${hash}/${name}`, source }
}

function compile(file: string, source: string): string {
  let esbuild: { transformSync(code: string, options: object): { code: string } }
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
  return esbuild.transformSync(source, { loader: 'ts', format: 'esm', sourcefile: file, target: 'node20' }).code
}
