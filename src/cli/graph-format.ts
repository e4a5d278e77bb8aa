/**
 * A pipeline's step graph as text: Mermaid (renders on GitHub and in most Markdown viewers) or
 * Graphviz dot. A `parallel` step is a subgraph (dot: a cluster) holding the step itself and
 * one nested subgraph per branch, to any depth; edges into and out of the parallel step attach
 * to its node inside. Node ids are generated (`s0`, `s1`, ...) because step names may hold any
 * character; a step's own name is its label, inside the subgraphs of its branch. Exported for the HTML
 * report, which draws the same graph.
 */
import type { PipelineDefinition, StepDefinition } from '../pipeline/definition.js'

export type GraphTextFormat = 'mermaid' | 'dot'

interface Node {
  readonly id: string
  readonly def: StepDefinition
}

interface Edge {
  readonly from: string
  readonly to: string
}

/** What differs between the formats: the same walk writes both. Lines come without indentation. */
interface Syntax {
  head(pipeline: PipelineDefinition): string[]
  tail: string[]
  step(node: Node): string
  /** A parallel step's subgraph: its opening lines, then the step's own node inside it. */
  group(node: Node): { open: string[]; own: string }
  /** A branch's subgraph inside its parallel step's. */
  branch(node: Node, branch: string): string[]
  close: string
  edge(edge: Edge): string
}

const MERMAID: Syntax = {
  head: () => ['flowchart TD'],
  tail: [],
  step: (node) => `${node.id}${mermaidShape(node)}`,
  group: (node) => ({ open: [`subgraph ${node.id}_group[${mermaidLabel(`${node.def.name} (parallel)`)}]`], own: `${node.id}${mermaidShape(node)}` }),
  branch: (node, branch) => [`subgraph ${node.id}_${safe(branch)}[${mermaidLabel(branch)}]`],
  close: 'end',
  edge: (e) => `${e.from} --> ${e.to}`,
}

const DOT: Syntax = {
  head: (pipeline) => [`digraph ${quote(pipeline.name)} {`, '  rankdir=TB;', '  node [shape=box, style=rounded];'],
  tail: ['}'],
  step: (node) => `${node.id} [label=${quote(labelOf(node))}${dotShape(node)}];`,
  group: (node) => ({
    open: [`subgraph cluster_${node.id} {`, `  label=${quote(`${node.def.name} (parallel)`)};`],
    own: `${node.id} [label=${quote(labelOf(node))}, shape=diamond, style=""];`,
  }),
  branch: (node, branch) => [`subgraph cluster_${node.id}_${safe(branch)} {`, `  label=${quote(branch)};`],
  close: '}',
  edge: (e) => `${e.from} -> ${e.to};`,
}

/** The step graph of `pipeline` (nested branches included) in `format`, ending with a newline. */
export function formatGraph(pipeline: PipelineDefinition, format: GraphTextFormat): string {
  const syntax = format === 'mermaid' ? MERMAID : DOT
  const edges: Edge[] = []
  let next = 0
  const newId = () => `s${next++}`
  const body = levelLines(pipeline, 1).lines
  return [...syntax.head(pipeline), ...body, ...edges.map((e) => `  ${syntax.edge(e)}`), ...syntax.tail].join('\n') + '\n'

  /** Gives each step of a level an id and records its edges; nested levels first, depth-first. */
  function nodesOf(level: PipelineDefinition): Node[] {
    const nodes = level.steps.map((def) => ({ id: newId(), def }))
    const ids = new Map(nodes.map((n) => [n.def.name, n.id]))
    for (const node of nodes) {
      for (const dep of node.def.deps) {
        const from = ids.get(dep)
        if (from !== undefined) edges.push({ from, to: node.id })
      }
    }
    return nodes
  }

  function levelLines(level: PipelineDefinition, depth: number): { lines: string[]; nodes: Node[] } {
    const pad = '  '.repeat(depth)
    const lines: string[] = []
    const nodes = nodesOf(level)
    for (const node of nodes) {
      if (node.def.kind !== 'parallel') {
        lines.push(`${pad}${syntax.step(node)}`)
        continue
      }
      const { open, own } = syntax.group(node)
      lines.push(...open.map((line) => pad + line), `${pad}  ${own}`)
      for (const [branch, sub] of Object.entries(node.def.branches ?? {})) {
        lines.push(...syntax.branch(node, branch).map((line) => `${pad}  ${line}`))
        const inner = levelLines(sub, depth + 2)
        lines.push(...inner.lines, `${pad}  ${syntax.close}`)
        for (const root of roots(inner.nodes)) edges.push({ from: node.id, to: root })
      }
      lines.push(`${pad}${syntax.close}`)
    }
    return { lines, nodes }
  }
}

/** A branch's first steps (no dependency inside the branch): the parallel step leads to them. */
function roots(nodes: readonly Node[]): string[] {
  return nodes.filter((n) => n.def.deps.length === 0).map((n) => n.id)
}

/** A step's own name (its subgraph says which branch it is in), and its kind unless a call. */
function labelOf(node: Node): string {
  return node.def.kind === 'call' || node.def.kind === 'parallel' ? node.def.name : `${node.def.name} (${node.def.kind})`
}

function mermaidShape(node: Node): string {
  const label = mermaidLabel(labelOf(node))
  switch (node.def.kind) {
    case 'parallel':
      return `{${label}}`
    case 'map':
      return `[[${label}]]`
    case 'stub':
      return `([${label}])`
    case 'shell':
      return `[/${label}/]`
    default:
      return `[${label}]`
  }
}

function dotShape(node: Node): string {
  switch (node.def.kind) {
    case 'map':
      return ', shape=box3d, style=""'
    case 'stub':
      return ', shape=ellipse, style=""'
    case 'shell':
      return ', shape=parallelogram, style=""'
    default:
      return ''
  }
}

/** Mermaid labels in double quotes; a quote inside becomes `#quot;` (Mermaid's entity). */
function mermaidLabel(text: string): string {
  return `"${text.replace(/"/g, '#quot;')}"`
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** A branch name as part of an id (ids take letters, digits and `_`). */
function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)
}
