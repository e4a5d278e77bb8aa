// Headless Chromium from its command line (Debian's `chromium` package): no npm dependency.
// Each run gets a fresh profile directory, removed afterwards.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The flags this machine needs (no sandbox as root, no GPU, no network chatter). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
]

/** `SPINDLE_CHROMIUM`, or the first of the usual binaries found on PATH; undefined if none. */
export function findChromium(): string | undefined {
  if (process.env.SPINDLE_CHROMIUM) return existsSync(process.env.SPINDLE_CHROMIUM) ? process.env.SPINDLE_CHROMIUM : undefined
  const dirs = (process.env.PATH ?? '/usr/bin').split(delimiter).filter((d) => d !== '')
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}

async function chromium(binary: string, args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'spindle-chromium-'))
  try {
    const { stdout } = await run(binary, [...FLAGS, `--user-data-dir=${profile}`, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}

/** The DOM after the page's scripts ran, serialised. */
export function dumpDom(binary: string, file: string): Promise<string> {
  return chromium(binary, ['--dump-dom', pathToFileURL(file).href])
}

/** A PNG of the page's top `width` × `height` pixels. */
export async function screenshot(binary: string, file: string, png: string, width: number, height: number): Promise<void> {
  await chromium(binary, [`--screenshot=${png}`, `--window-size=${width},${height}`, pathToFileURL(file).href])
}
