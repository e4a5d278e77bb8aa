/**
 * Task modules shipped to an agent that cannot read the caller's files (an SSH host, a Redis
 * worker elsewhere), on the agent's side. The files are kept by content (`<hash>/<name>`, see
 * module-frames.ts) in a directory whose imports of 'spindle' and of installed packages resolve,
 * shared by every caller: a file there never changes. Each caller has its own names for them
 * (the URLs it passed to remote()), so each session maps its caller's URLs to the files, and back
 * for the calls its tasks submit.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ModuleMap } from './agent-host.js'

/** This installation's dist/ directory: the caller's own spindle modules are these. */
const OWN_DIST = new URL('../../', import.meta.url).href

export class ModuleCache {
  constructor(private readonly dir: string) {}

  has(path: string): boolean {
    return existsSync(join(this.dir, path))
  }

  /** Writes `source` as `path` unless it is there (atomically: another agent never sees half a module); its URL. */
  write(path: string, source: Uint8Array): string {
    const file = join(this.dir, path)
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true })
      const temp = `${file}.${process.pid}.tmp`
      try {
        writeFileSync(temp, source)
        renameSync(temp, file)
      } catch (error) {
        rmSync(temp, { force: true })
        throw error
      }
    }
    return this.url(path)
  }

  url(path: string): string {
    return pathToFileURL(join(this.dir, path)).href
  }
}

/** One caller's names for the modules shipped to it, and its spindle's dist/ (which is this agent's own). */
export class ShippedModules implements ModuleMap {
  private readonly toLocal = new Map<string, string>()
  private readonly toRemote = new Map<string, string>()

  constructor(private callerDist = '') {}

  /** The caller's dist/ directory, once it says (the SSH agent's config frame comes after it starts). */
  setCallerDist(dist: string): void {
    this.callerDist = dist
  }

  add(callerUrl: string, localUrl: string): void {
    this.toLocal.set(callerUrl, localUrl)
    this.toRemote.set(localUrl, callerUrl)
  }

  toAgent(url: string): string {
    return this.toLocal.get(url) ?? (this.callerDist !== '' && url.startsWith(this.callerDist) ? OWN_DIST + url.slice(this.callerDist.length) : url)
  }

  toCaller(url: string): string {
    return this.toRemote.get(url) ?? (url.startsWith(OWN_DIST) ? this.callerDist + url.slice(OWN_DIST.length) : url)
  }
}
