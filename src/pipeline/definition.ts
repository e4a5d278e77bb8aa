/** What a pipeline is made of, as a run reads it: its steps' definitions, and the steps they read. */
import type { StepRef } from '../task/pending.js'

/** A step or run parameter of a pipeline, as its `step` Pendings carry it (pipeline.ts makes them all). */
export interface StepId extends StepRef {
  /** Set when this is a run parameter rather than a step. */
  readonly param?: { readonly defaultValue: unknown; readonly hasDefault: boolean }
}
