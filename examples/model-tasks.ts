// Classes for examples/actors.ts: each instance lives on one node as an actor.
import { instanceInfo } from 'spindle'

export interface ModelConfig {
  features: number
  seed: number
}

/** A "model": its weights are made once (the costly load), then every score uses them. */
export class Model {
  /** Models made on this thread. */
  static loads = 0
  private readonly weights: Float64Array
  private scored = 0

  constructor(config: ModelConfig) {
    Model.loads++
    this.weights = new Float64Array(config.features)
    let x = config.seed
    for (let i = 0; i < config.features; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31 // a stand-in for reading a file of weights
      this.weights[i] = (x % 100) / 100
    }
  }

  score(row: number[]): number {
    this.scored++
    return row.reduce((sum, v, i) => sum + v * this.weights[i]!, 0)
  }

  stats(): { scored: number; loads: number } {
    return { scored: this.scored, loads: Model.loads }
  }

  /** Ends the worker it lives on, as a crash would. */
  crash(): void {
    process.exit(1)
  }
}

/** A per-node cache, as `compute.actors()` makes one on every node. */
export class Cache {
  private readonly entries = new Map<string, number>()

  put(key: string, value: number): number {
    this.entries.set(key, value)
    return this.entries.size
  }

  where(): number {
    return instanceInfo().node
  }
}
