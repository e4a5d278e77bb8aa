/**
 * `--param name=value`: a pipeline parameter from the command line. The text is typed by the
 * default the pipeline declared (`p.param('rows', 20_000)` takes a number), since a shell has
 * only strings; a name no pipeline of the tree declares is refused with a did-you-mean, before
 * the pool starts. Texts are kept as given (invocation.json), so `resume` types them again.
 */
import { UsageError } from '../errors.js'
import { treeParams, unknownParamMessage } from '../pipeline/params.js'
import type { Pipeline } from '../pipeline/pipeline.js'

/** Splits repeated `--param name=value` flags; a later value for a name replaces an earlier one. */
export function paramTexts(flags: readonly string[] | undefined): Record<string, string> {
  const texts: Record<string, string> = {}
  for (const flag of flags ?? []) {
    const at = flag.indexOf('=')
    const name = at === -1 ? '' : flag.slice(0, at).trim()
    if (name === '') throw new UsageError(`Expected \`--param\` to be name=value, such as \`--param rows=50000\`, got "${flag}".`)
    texts[name] = flag.slice(at + 1)
  }
  return texts
}

/** The run's `params`: each text typed by the parameter's declared default. */
export function typedParams(pipeline: Pipeline, texts: Readonly<Record<string, string>>): Record<string, unknown> {
  const declared = treeParams(pipeline)
  const values: Record<string, unknown> = {}
  for (const [name, text] of Object.entries(texts)) {
    const declarations = declared.get(name)
    if (declarations === undefined) throw new UsageError(`${unknownParamMessage(name, pipeline.name, [...declared.keys()])} (\`--param ${name}=...\`)`)
    const first = declarations[0]!
    values[name] = typed(name, text, first.hasDefault ? first.defaultValue : undefined)
  }
  return values
}

/** `text` as a value of the default's type: number, boolean, bigint, JSON for arrays and objects, else the text itself. */
function typed(name: string, text: string, byDefault: unknown): unknown {
  const refuse = (what: string) => new UsageError(`Expected \`--param ${name}\` to be ${what} (its default is ${describe(byDefault)}), got "${text}".`)
  switch (typeof byDefault) {
    case 'number': {
      // `50_000` as in the pipeline's own source; Number('') is 0, so an empty text is refused first.
      const value = text.trim() === '' ? Number.NaN : Number(text.trim().replace(/(?<=\d)_(?=\d)/g, ''))
      if (!Number.isFinite(value)) throw refuse('a number')
      return value
    }
    case 'boolean': {
      const lower = text.trim().toLowerCase()
      if (lower !== 'true' && lower !== 'false') throw refuse('true or false')
      return lower === 'true'
    }
    case 'bigint':
      try {
        return BigInt(text.trim())
      } catch {
        throw refuse('an integer')
      }
    case 'object': {
      if (byDefault === null) return text
      const what = Array.isArray(byDefault) ? 'a JSON array' : 'a JSON object'
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        throw refuse(what)
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value) !== Array.isArray(byDefault)) throw refuse(what)
      return value
    }
    default:
      return text // a string default, or none: the text as given
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
