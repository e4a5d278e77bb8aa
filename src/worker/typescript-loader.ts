/**
 * `.ts` task modules under tsx. The parent's `--import tsx` does run in each worker thread, but
 * on Node 20 tsx registers its hooks on the main thread only, so a worker cannot import a `.ts`
 * task module. The parent finds tsx's API (`tsxApiUrl`) and each worker registers it itself.
 */
import * as threads from 'node:worker_threads'

/** On the main side: the URL of `tsx/esm/api` if this process runs under tsx, else undefined. */
export function tsxApiUrl(execArgv: readonly string[] = process.execArgv): string | undefined {
  if ('isInternalThread' in threads) return undefined // newer Node: tsx registers in workers itself
  const loader = execArgv.find((arg, i) => /tsx/.test(arg) && /^--(import|loader|experimental-loader)/.test(execArgv[i - 1] ?? ''))
  if (loader === undefined) return undefined
  try {
    if (/^(file:|\/)/.test(loader)) {
      const base = loader.startsWith('/') ? `file://${loader}` : loader
      return new URL('./esm/api/index.mjs', base).href // .../tsx/dist/loader.mjs → .../tsx/dist/esm/api
    }
    return import.meta.resolve('tsx/esm/api')
  } catch {
    return undefined
  }
}

/** In a worker: register tsx's hooks so that `.ts` task modules load. */
export async function registerTypeScript(apiUrl: string | undefined): Promise<void> {
  if (apiUrl === undefined) return
  const api = (await import(apiUrl)) as { register: () => unknown }
  api.register()
}
