// Step graphs as Mermaid and dot: every step kind, and parallel branches nested two deep.
import { describe, expect, it } from 'vitest'
import { Pipeline, remote } from 'spindle'
import { formatGraph } from '../../dist/cli/graph-format.js'
import nested from '../fixtures/cli/nested.mjs'
import type * as Tasks from '../fixtures/tasks.mjs'

describe('formatGraph', () => {
  it('mermaid: a parallel step is a subgraph holding its node and one subgraph per branch', () => {
    expect(formatGraph(nested, 'mermaid')).toBe(
      [
      'flowchart TD',
      '  s0["load"]',
      '  subgraph s1_group["variants (parallel)"]',
      '    s1{"variants"}',
      '    subgraph s1_small["small"]',
      '      s4["fit"]',
      '    end',
      '    subgraph s1_large["large"]',
      '      subgraph s5_group["deep (parallel)"]',
      '        s5{"deep"}',
      '        subgraph s5_inner["inner"]',
      '          s7(["x (stub)"])',
      '        end',
      '      end',
      '      s6["fit #quot;big#quot;"]',
      '    end',
      '  end',
      '  s2[["each (map)"]]',
      '  s3[/"notify (shell)"/]',
      '  s0 --> s1',
      '  s1 --> s3',
      '  s1 --> s4',
      '  s5 --> s6',
      '  s5 --> s7',
      '  s1 --> s5',
    ].join('\n') + '\n',
    )
  })

  it('dot: the same as clusters, with labels escaped', () => {
    expect(formatGraph(nested, 'dot')).toBe(
      [
      'digraph "nested" {',
      '  rankdir=TB;',
      '  node [shape=box, style=rounded];',
      '  s0 [label="load"];',
      '  subgraph cluster_s1 {',
      '    label="variants (parallel)";',
      '    s1 [label="variants", shape=diamond, style=""];',
      '    subgraph cluster_s1_small {',
      '      label="small";',
      '      s4 [label="fit"];',
      '    }',
      '    subgraph cluster_s1_large {',
      '      label="large";',
      '      subgraph cluster_s5 {',
      '        label="deep (parallel)";',
      '        s5 [label="deep", shape=diamond, style=""];',
      '        subgraph cluster_s5_inner {',
      '          label="inner";',
      '          s7 [label="x (stub)", shape=ellipse, style=""];',
      '        }',
      '      }',
      '      s6 [label="fit \\"big\\""];',
      '    }',
      '  }',
      '  s2 [label="each (map)", shape=box3d, style=""];',
      '  s3 [label="notify (shell)", shape=parallelogram, style=""];',
      '  s0 -> s1;',
      '  s1 -> s3;',
      '  s1 -> s4;',
      '  s5 -> s6;',
      '  s5 -> s7;',
      '  s1 -> s5;',
      '}',
    ].join('\n') + '\n',
    )
  })

  it('gives every step one node and each dependency one edge, whatever the names', () => {
    const t = remote<typeof Tasks>(new URL('../fixtures/tasks.mjs', import.meta.url))
    const p = new Pipeline('names')
    const a = p.step('a b', t.echo(1))
    const b = p.step('a"b', t.echo(a))
    p.step('a[b]', t.add(a, b))
    const text = formatGraph(p, 'mermaid')
    expect(text.match(/^  s\d+\[/gm)).toHaveLength(3)
    expect(text).toContain('  s0["a b"]\n  s1["a#quot;b"]\n  s2["a[b]"]\n')
    expect(text.trimEnd().split('\n').filter((l) => l.includes('-->'))).toEqual(['  s0 --> s1', '  s0 --> s2', '  s1 --> s2'])
  })
})
