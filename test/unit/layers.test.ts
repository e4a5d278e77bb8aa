// The layers of src/ import only downwards, and no module imports itself through others. The
// table is the one docs/ARCHITECTURE.md explains: change both together.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/**
 * Lowest first. A file belongs to the layer of its longest matching path prefix. A layer may
 * import its own files and those of lower ranks; layers of one rank know nothing of each other.
 */
const RANKS: ReadonlyArray<Readonly<Record<string, readonly string[]>>> = [
  { base: ['errors.ts', 'options.ts', 'printable.ts', 'thenable.ts', 'deque.ts'] },
  { protocol: ['protocol/'] },
  { task: ['task/'], graph: ['graph/'], runlog: ['runlog/'] },
  // observe/otel.ts: spans that calls, maps and pipelines start; it reads only task/ (CallOptions, CallSink).
  { otel: ['observe/otel.ts'] },
  { worker: ['worker/'] },
  // actors/ is the caller's side of actors; their node side (worker/actor-host.ts) is the worker's, which agents read (actor-wire.ts).
  { map: ['map/'], backends: ['backends/'], actors: ['actors/'] },
  { dispatch: ['dispatch/'] },
  { compute: ['compute/'] },
  { pipeline: ['pipeline/'] },
  { progress: ['progress/'], observe: ['observe/'] },
  { cli: ['cli/'] },
  { index: ['index.ts'] },
]

interface Layer {
  readonly name: string
  readonly rank: number
}

function layerOf(file: string): Layer | undefined {
  let best: { prefix: string; layer: Layer } | undefined
  RANKS.forEach((layers, rank) => {
    for (const [name, prefixes] of Object.entries(layers)) {
      for (const prefix of prefixes) {
        if (file.startsWith(prefix) && prefix.length > (best?.prefix.length ?? -1)) best = { prefix, layer: { name, rank } }
      }
    }
  })
  return best?.layer
}

/**
 * The relative modules a file depends on: imports and re-exports (type-only ones too), dynamic
 * `import()`, `import('…')` types, and modules named by `new URL('./x.js', import.meta.url)`
 * (worker entries, task modules: loaded by path, still a dependency).
 */
function dependencies(source: string): string[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const found: string[] = []
  const add = (node: ts.Node | undefined) => {
    if (node !== undefined && ts.isStringLiteralLike(node) && node.text.startsWith('.')) found.push(node.text)
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier)
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression)
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal)
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0])
    else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && isImportMetaUrl(node.arguments?.[1])) {
      const target = node.arguments![0]
      if (target !== undefined && ts.isStringLiteralLike(target) && /\.[cm]?js$/.test(target.text)) add(target)
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

function isImportMetaUrl(node: ts.Node | undefined): boolean {
  return node !== undefined && ts.isPropertyAccessExpression(node) && ts.isMetaProperty(node.expression) && node.name.text === 'url'
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** file → the files it depends on, as paths relative to src/ with `/`. */
function moduleGraph(): Map<string, string[]> {
  const name = (path: string) => relative(SRC, path).split(sep).join('/')
  const graph = new Map<string, string[]>()
  for (const path of sourceFiles(SRC)) {
    const targets = dependencies(readFileSync(path, 'utf8')).map((spec) => name(resolve(dirname(path), spec.replace(/\.([cm]?)js$/, '.$1ts'))))
    graph.set(name(path), [...new Set(targets)])
  }
  return graph
}

/** One cycle per strongly connected component of more than one file (or a file importing itself), as a path. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const connect = (v: string): void => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component = new Set<string>()
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w)
      component.add(w)
      if (w === v) break
    }
    if (component.size > 1 || graph.get(v)?.includes(v)) found.push(shortestCycle(graph, v, component))
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v)
  return found
}

/** The shortest path from `start` back to itself inside `within` (breadth first). */
function shortestCycle(graph: ReadonlyMap<string, readonly string[]>, start: string, within: ReadonlySet<string>): string[] {
  const from = new Map<string, string>()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!
    for (const w of graph.get(v) ?? []) {
      if (!within.has(w)) continue
      if (w === start) {
        const path = [start]
        for (let at = v; at !== start; at = from.get(at)!) path.splice(1, 0, at)
        return [...path, start]
      }
      if (!from.has(w)) {
        from.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start, start]
}

describe('the import checker', () => {
  it('sees every kind of dependency, type-only ones included', () => {
    const source = [
      "import { a } from './a.js'",
      "import type { B } from '../b.js'",
      "import './side-effect.js'",
      "export { c } from './c.js'",
      "export type * from './d.js'",
      "import fs from 'node:fs'",
      "type E = typeof import('./e.js')",
      "const f = await import('./f.js')",
      "const g = new URL('../worker/g.js', import.meta.url)",
      "const notAModule = new URL('../../package.json', import.meta.url)",
      "// import { h } from './h.js'",
    ].join('\n')
    expect(dependencies(source)).toEqual(['./a.js', '../b.js', './side-effect.js', './c.js', './d.js', './e.js', './f.js', '../worker/g.js'])
  })

  it('finds a cycle and gives its path', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts', 'd.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', []],
    ])
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']])
  })
})

describe('src/ layers', () => {
  const graph = moduleGraph()

  it('places every file in a layer', () => {
    const unplaced = [...graph.keys()].filter((file) => layerOf(file) === undefined)
    expect(unplaced, 'files in no layer: add their folder to RANKS (and to docs/ARCHITECTURE.md)').toEqual([])
  })

  it('has no import cycles', () => {
    const found = cycles(graph).map((cycle) => cycle.join(' → '))
    expect(found, 'import cycles').toEqual([])
  })

  it('imports only downwards', () => {
    const upward: string[] = []
    for (const [file, targets] of graph) {
      const from = layerOf(file)
      for (const target of targets) {
        const to = layerOf(target)
        if (from === undefined || to === undefined || to.name === from.name || to.rank < from.rank) continue
        const how = to.rank === from.rank ? 'beside' : 'above'
        upward.push(`${file} (${from.name}) imports ${target} (${to.name}, ${how} it)`)
      }
    }
    expect(upward.sort(), 'imports of a layer above or beside').toEqual([])
  })
})
