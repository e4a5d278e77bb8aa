/**
 * Run parameters (`p.param(name, default)`): what a pipeline tree declares, and the values a run
 * is given for them. Parameters are one namespace for the whole run (every nested branch reads
 * `run({ params })`), so a name is known when any pipeline of the tree declares it; a value for
 * a name nobody declares is a typo, refused with a did-you-mean before any step starts.
 */
import { InvalidOptionError } from '../errors.js'
import { closest } from '../options.js'
import type { ParamDeclaration, PipelineDefinition } from './definition.js'

/**
 * Every parameter the tree declares, by name, in declaration order (top level first); a name
 * declared by several pipelines of the tree lists each declaration.
 */
export function treeParams(pipeline: PipelineDefinition): Map<string, ParamDeclaration[]> {
  const found = new Map<string, ParamDeclaration[]>()
  const seen = new Set<PipelineDefinition>()
  const stack = [pipeline]
  while (stack.length > 0) {
    const at = stack.shift()!
    if (seen.has(at)) continue
    seen.add(at)
    for (const declared of at.params) (found.get(declared.name) ?? found.set(declared.name, []).get(declared.name)!).push(declared)
    for (const def of at.steps) stack.push(...Object.values(def.branches ?? {}))
  }
  return found
}

/** Refuses a value for a parameter that no pipeline of the tree declares. */
export function checkParamNames(pipeline: PipelineDefinition, params: Readonly<Record<string, unknown>>, declared = treeParams(pipeline)): void {
  for (const name of Object.keys(params)) {
    if (!declared.has(name)) throw new InvalidOptionError(unknownParamMessage(name, pipeline.name, [...declared.keys()]))
  }
}

/** `Pipeline "fit" has no parameter "rwos". Did you mean "rows"?` (or the declared ones, or that there are none). */
export function unknownParamMessage(name: string, pipeline: string, known: readonly string[]): string {
  const guess = closest(name, known)
  const hint =
    guess !== undefined
      ? ` Did you mean "${guess}"?`
      : known.length === 0
        ? ' It declares none: declare one with p.param(name, default).'
        : ` Its parameters: ${known.join(', ')}.`
  return `Pipeline "${pipeline}" has no parameter "${name}".${hint}`
}
