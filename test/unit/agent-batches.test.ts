// What a lost agent's batches get: interrupted if the agent said they began, back to the queue
// free if not, unless agents keep being lost with nothing begun or answered (then those that
// may have begun, one per thread, are interrupted).
import { describe, expect, it } from 'vitest'
import { AgentBatches } from '../../src/backends/agent/agent-replies.js'
import { NodeFailure } from '../../src/backends/backend.js'

const died = new NodeFailure('crash', 'agent process 1 was killed by SIGKILL', { interrupted: true })
const noop = () => {}
/** Sends batches `ids` to the current agent; the agent then says `began` of them began, and is lost. */
function lose(batches: AgentBatches, ids: number[], began: number[] = []): string[] {
  for (const id of ids) batches.add(id, noop, noop)
  batches.started(began)
  return batches.lost(died).map(([, failure]) => failure.reason)
}

describe('AgentBatches', () => {
  it('a lost agent: the batches it said began are interrupted, the others go back free', () => {
    const batches = new AgentBatches(2)
    expect(lose(batches, [1, 2, 3, 4], [1, 3])).toEqual(['crash', 'revoked', 'crash', 'revoked'])
  })

  it('after 3 agents in a row lost with nothing begun or answered, the batches that may have begun count as interrupted', () => {
    const batches = new AgentBatches(2)
    for (let i = 0; i < 3; i++) expect(lose(batches, [10 + i])).toEqual(['revoked'])
    // Two threads, nothing answered: only the first two sent may have begun; those behind never ran.
    expect(lose(batches, [20, 21, 22, 23])).toEqual(['crash', 'crash', 'revoked', 'revoked'])
    // An agent that got something done (an answer) starts the count again.
    batches.add(30, noop, noop)
    batches.settle(30)
    expect(lose(batches, [31])).toEqual(['revoked'])
    // A loss with nothing out counts for nothing.
    for (let i = 0; i < 3; i++) expect(lose(batches, [40 + i])).toEqual(['revoked'])
    expect(lose(batches, [])).toEqual([])
    expect(lose(batches, [50])).toEqual(['crash'])
  })
})
