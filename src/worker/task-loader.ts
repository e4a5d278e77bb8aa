/**
 * Loads task modules and finds their exports, once per module per thread. Missing modules and
 * exports become errors that name the module URL and what it does export.
 */
import { SpindleError } from '../errors.js'

type Fn = (...args: unknown[]) => unknown
const modules = new Map<string, Promise<Record<string, unknown>>>()
const functions = new Map<string, Fn>()

/** The function if this thread has loaded it already. */
export function loadedTask(module: string, name: string): Fn | undefined {
  return functions.get(`${name}@${module}`)
}

export async function loadTask(module: string, name: string): Promise<Fn> {
  const key = `${name}@${module}`
  const known = functions.get(key)
  if (known !== undefined) return known
  let loading = modules.get(module)
  if (loading === undefined) {
    loading = import(module) as Promise<Record<string, unknown>>
    modules.set(module, loading)
  }
  let exports: Record<string, unknown>
  try {
    exports = await loading
  } catch (cause) {
    modules.delete(module) // a later call may find it fixed (or built)
    throw new SpindleError(
      'ERR_SPINDLE_MODULE_NOT_FOUND',
      `Cannot load task module ${module}: ${(cause as Error)?.message ?? String(cause)}. ` +
        'Check the URL given to remote() (build .ts task modules to .js, or run under tsx).',
      { cause },
    )
  }
  const fn = exports[name]
  if (typeof fn !== 'function') {
    const available = Object.keys(exports).filter((k) => typeof exports[k] === 'function')
    const what = name in exports ? `exports "${name}", but it is not a function` : `has no export "${name}"`
    throw new SpindleError(
      'ERR_SPINDLE_MISSING_EXPORT',
      `Task module ${module} ${what}. ` +
        (available.length > 0 ? `Its exported functions: ${available.join(', ')}.` : 'It exports no functions.'),
    )
  }
  functions.set(key, fn as Fn)
  return fn as Fn
}
