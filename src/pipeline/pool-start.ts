/**
 * The pool's start-up as a run sees it: per node that comes up during the run, a band from the
 * pool's start (or the run's, when the run borrowed a pool that was already starting) to the
 * node's first `up` (compute.on('node')). A node up before the run has none; so has a node whose
 * backend does not report its start (inline). Each band is a `pool` event as it ends, and the
 * run record, the run log and the displays keep the list.
 */
import type { StepRunner } from '../compute/step-runner.js'
import type { PoolStartBand } from '../runlog/step-times.js'

export interface PoolStartWatch {
  /** The bands so far, by node; no more are added once the run has ended. */
  end(): PoolStartBand[]
}

export function watchPoolStart(runner: StepRunner, nodes: number, runStartedAt: number, onBand: (band: PoolStartBand) => void): PoolStartWatch {
  const { at, firstUp } = runner.poolStart()
  const from = Math.max(at, runStartedAt)
  const bands: PoolStartBand[] = []
  let open = true
  const add = (node: number, to: number) => {
    if (!open || to < runStartedAt) return // up before the run: not the run's to wait for
    const band = { node, from: Math.min(from, to), to }
    bands.push(band)
    onBand(band)
  }
  for (let node = 0; node < nodes; node++) {
    const up = firstUp[node]
    if (up !== undefined) add(node, up)
    // Heard from inside the node's report: the event goes a microtask later.
    else runner.whenUp(node, (to) => queueMicrotask(() => add(node, to)))
  }
  return {
    end() {
      open = false
      return bands.sort((a, b) => a.node - b.node)
    },
  }
}
