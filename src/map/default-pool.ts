/**
 * The pool parallelMap uses when given none: started on first use, shared by every later call,
 * and, like any idle pool, never keeping the process alive.
 */
import { Compute } from '../compute/compute.js'

let shared: Promise<Compute> | undefined

export function defaultCompute(): Promise<Compute> {
  shared ??= Compute.start().catch((error: unknown) => {
    shared = undefined
    throw error
  })
  return shared
}
