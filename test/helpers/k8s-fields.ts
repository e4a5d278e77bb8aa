// Unknown fields in a Kubernetes manifest. kubernetes-models' validate() checks types, enums and
// required fields but lets any other field through, so a misspelt `terminationGracePeriodSecond`
// would pass it, while `kubectl apply` (whose default is --validate=strict) rejects it. This
// walks a manifest along the models' own declarations (each .d.ts interface names its fields and
// their types) and lists every field path they do not declare.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const nodeModules = fileURLToPath(new URL('../../node_modules/', import.meta.url))

interface Declared {
  /** Field name → its type as written (`IIoK8sApiCoreV1Container`, `Array<...>`, `string`, `{`). */
  readonly fields: Map<string, string>
  /** Imported type name → the .d.ts file declaring it. */
  readonly imports: Map<string, string>
}

const declared = new Map<string, Declared | null>()

/** The first interface in `file`, or null for a type alias (a Quantity: `number | string`). */
function declarations(file: string): Declared | null {
  if (declared.has(file)) return declared.get(file)!
  const text = readFileSync(file, 'utf8')
  const body = /^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/m.exec(text)?.[1]
  let result: Declared | null = null
  if (body !== undefined) {
    const fields = new Map([...body.matchAll(/^ {4}"([^"]+)"\??: ([^;\n]*)/gm)].map((m) => [m[1]!, m[2]!] as const))
    const imports = new Map(
      [...text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)].map((m) => {
        const spec = m[2]!
        return [m[1]!, spec.startsWith('.') ? join(dirname(file), `${spec}.d.ts`) : join(nodeModules, `${spec}.d.ts`)] as const
      }),
    )
    result = { fields, imports }
  }
  declared.set(file, result)
  return result
}

function walk(value: unknown, file: string, path: string, unknown: string[]): void {
  const types = declarations(file)
  if (types === null || typeof value !== 'object' || value === null) return
  for (const [key, field] of Object.entries(value)) {
    const type = types.fields.get(key)
    if (type === undefined) {
      unknown.push(`${path}.${key}`)
      continue
    }
    // A declared object type, or an array of one; maps (`{ [key: string]: ... }`) and scalars take any key.
    const named = /^(Array<)?(IIoK8s\w+)>?$/.exec(type)
    const target = named === null ? undefined : types.imports.get(named[2]!)
    if (target === undefined || !existsSync(target)) continue
    if (named![1] !== undefined && Array.isArray(field)) field.forEach((item, i) => walk(item, target, `${path}.${key}[${i}]`, unknown))
    else walk(field, target, `${path}.${key}`, unknown)
  }
}

/** Paths of the fields of `manifest` that its kind does not declare (`spec.template.spec.foo`). */
export function unknownFields(manifest: { apiVersion: string; kind: string }): string[] {
  const file = join(nodeModules, 'kubernetes-models', manifest.apiVersion, `${manifest.kind}.d.ts`)
  if (!existsSync(file)) throw new Error(`kubernetes-models has no ${manifest.apiVersion} ${manifest.kind}`)
  const unknown: string[] = []
  walk(manifest, file, manifest.kind, unknown)
  return unknown
}
