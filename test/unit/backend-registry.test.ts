// Backend kinds are listed once, in backends/registry.ts: a new backend is its own folder and one
// entry there. Nothing else in src/ compares against a kind's name or lists kinds.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { BACKEND_KINDS, BACKENDS, LOCAL_KINDS, refusal, takersOf } from '../../src/backends/registry.js'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/** Where kinds may be named: the registry, the backends' own folders, and the public type of a kind. */
const ALLOWED = [/^backends\//, /^worker\/context\.ts$/]
/** Strings that are kind names by coincidence: `'inline'` is also a map function given as source. */
const UNRELATED = new Set(['map/fn-spec.ts'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Comparisons with a kind's name (`x === 'ssh'`, `case 'process':`) and lists of two or more kinds (and nothing else), as `file: text`. */
function kindListings(file: string, source: string): string[] {
  const kinds = new Set<string>(BACKEND_KINDS)
  const isKind = (node: ts.Node) => ts.isStringLiteral(node) && kinds.has(node.text)
  const found: string[] = []
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const visit = (node: ts.Node): void => {
    const comparison =
      ts.isBinaryExpression(node) &&
      [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken].includes(node.operatorToken.kind) &&
      (isKind(node.left) || isKind(node.right))
    // A list of kinds holds only kinds: a list of option names that has `ssh` and `redis` among others is not one.
    const listing = (ts.isArrayLiteralExpression(node) && node.elements.filter(isKind).length >= 2 && node.elements.every(isKind)) || (ts.isUnionTypeNode(node) && node.types.filter((t) => ts.isLiteralTypeNode(t) && isKind(t.literal)).length >= 2)
    if (comparison || listing || (ts.isCaseClause(node) && isKind(node.expression))) found.push(`${file}: ${node.getText(tree)}`)
    ts.forEachChild(node, visit)
  }
  visit(tree)
  return found
}

describe('the backend registry', () => {
  it('is the one place outside the backends that names kinds', () => {
    const found = sourceFiles(SRC).flatMap((path) => {
      const file = relative(SRC, path).split(sep).join('/')
      if (ALLOWED.some((re) => re.test(file)) || UNRELATED.has(file)) return []
      return kindListings(file, readFileSync(path, 'utf8'))
    })
    expect(found).toEqual([])
  })

  it('has an entry for every kind, each saying what its nodes support', () => {
    expect(BACKEND_KINDS).toEqual(['thread', 'process', 'ssh', 'redis', 'inline'])
    expect(BACKEND_KINDS.map((kind) => BACKENDS[kind].supports.sharedMemory)).toEqual([true, false, false, false, true])
    expect(BACKEND_KINDS.filter((kind) => BACKENDS[kind].supports.partialResults)).toEqual(['process', 'ssh', 'redis'])
    expect(BACKEND_KINDS.filter((kind) => BACKENDS[kind].supports.offThread)).toEqual(['thread'])
    // What ParallelExecutor starts itself: every kind that needs no hosts named.
    expect(LOCAL_KINDS).toEqual(['thread', 'process', 'inline'])
  })

  it('words the refusal of an option from the kinds that take it', () => {
    expect(takersOf('workersPerNode')).toEqual(['process', 'ssh', 'redis'])
    expect(refusal('process', 'workersPerNode')).toBeUndefined()
    expect(refusal('inline', 'workersPerNode')).toBe('`workersPerNode` is for the process, SSH and Redis backends; a inline node is one thread. Use `workers`.')
    expect(refusal('process', 'hosts')).toBe('`hosts` is for the SSH and Redis backends.') // Redis: workers it starts over SSH
    expect(refusal('ssh', 'workers')).toBe('`workers` is not for the SSH backend: it has one node per host. List them in `hosts`, and set `workersPerNode`.')
  })
})
