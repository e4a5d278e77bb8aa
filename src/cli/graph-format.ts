/**
 * A pipeline's step graph as text: Mermaid (renders on GitHub and in most Markdown viewers) or
 * Graphviz dot. A `parallel` step is a subgraph (dot: a cluster) holding the step itself and
 * one nested subgraph per branch, to any depth; edges into and out of the parallel step attach
 * to its node inside. Node ids are generated (`s0`, `s1`, ...) because step names may hold any
 * character; a step's own name is its label, inside the subgraphs of its branch. Exported for the HTML
 * report, which draws the same graph.
 */
import type { Pipeline, StepDefinition } from '../pipeline/pipeline.js'

export type GraphTextFormat = 'mermaid' | 'dot'

interface Node {
  readonly id: string
  readonly def: StepDefinition
}

interface Edge {
  readonly from: string
  readonly to: string
}

/** The step graph of `pipeline` (nested branches included) in `format`, ending with a newline. */
export function formatGraph(pipeline: Pipeline, format: GraphTextFormat): string {
  const edges: Edge[] = []
  let next = 0
  const newId = () => `s${next++}`
  const body = (format === 'mermaid' ? mermaidLevel(pipeline, 1) : dotLevel(pipeline, 1)).lines
  const head = format === 'mermaid' ? ['flowchart TD'] : [`digraph ${quote(pipeline.name)} {`, '  rankdir=TB;', '  node [shape=box, style=rounded];']
  const arrows = edges.map((e) => (format === 'mermaid' ? `  ${e.from} --> ${e.to}` : `  ${e.from} -> ${e.to};`))
  return [...head, ...body, ...arrows, ...(format === 'dot' ? ['}'] : [])].join('\n') + '\n'

  /** Gives each step of a level an id and records its edges; nested levels first, depth-first. */
  function nodesOf(level: Pipeline): Node[] {
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

  function mermaidLevel(level: Pipeline, depth: number): { lines: string[]; nodes: Node[] } {
    const pad = '  '.repeat(depth)
    const lines: string[] = []
    const nodes = nodesOf(level)
    for (const node of nodes) {
      if (node.def.kind !== 'parallel') {
        lines.push(`${pad}${node.id}${mermaidShape(node)}`)
        continue
      }
      lines.push(`${pad}subgraph ${node.id}_group[${mermaidLabel(`${node.def.name} (parallel)`)}]`)
      lines.push(`${pad}  ${node.id}${mermaidShape(node)}`)
      for (const [branch, sub] of Object.entries(node.def.branches ?? {})) {
        lines.push(`${pad}  subgraph ${node.id}_${safe(branch)}[${mermaidLabel(branch)}]`)
        const inner = mermaidLevel(sub, depth + 2)
        lines.push(...inner.lines, `${pad}  end`)
        for (const root of roots(inner.nodes)) edges.push({ from: node.id, to: root })
      }
      lines.push(`${pad}end`)
    }
    return { lines, nodes }
  }

  function dotLevel(level: Pipeline, depth: number): { lines: string[]; nodes: Node[] } {
    const pad = '  '.repeat(depth)
    const lines: string[] = []
    const nodes = nodesOf(level)
    for (const node of nodes) {
      if (node.def.kind !== 'parallel') {
        lines.push(`${pad}${node.id} [label=${quote(labelOf(node))}${dotShape(node)}];`)
        continue
      }
      lines.push(`${pad}subgraph cluster_${node.id} {`, `${pad}  label=${quote(`${node.def.name} (parallel)`)};`)
      lines.push(`${pad}  ${node.id} [label=${quote(labelOf(node))}, shape=diamond, style=""];`)
      for (const [branch, sub] of Object.entries(node.def.branches ?? {})) {
        lines.push(`${pad}  subgraph cluster_${node.id}_${safe(branch)} {`, `${pad}    label=${quote(branch)};`)
        const inner = dotLevel(sub, depth + 2)
        lines.push(...inner.lines, `${pad}  }`)
        for (const root of roots(inner.nodes)) edges.push({ from: node.id, to: root })
      }
      lines.push(`${pad}}`)
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
