/** What a pipeline is made of, as a run reads it: its steps' definitions, and the steps they read. */
import type { Pending, StepRef } from '../task/pending.js'
import type { ShellOptions, ShellValue } from './shell.js'
import type { StepKind, StepOptions } from './types.js'

/** A step or run parameter of a pipeline, as its `step` Pendings carry it (pipeline.ts makes them all). */
export interface StepId extends StepRef {
  /** Set when this is a run parameter rather than a step. */
  readonly param?: { readonly defaultValue: unknown; readonly hasDefault: boolean }
}

/** A pipeline as a run reads it (Pipeline is one): the run never needs the class that builds it. */
export interface PipelineDefinition {
  readonly name: string
  /** The steps, in definition order. */
  readonly steps: readonly StepDefinition[]
  /** Steps of other pipelines its steps read (they must contain it, or the run fails at once). */
  readonly externals: ReadonlyMap<string, StepRef>
  /** The run parameters it declares (`p.param`), in declaration order. */
  readonly params: readonly ParamDeclaration[]
}

export interface StepDefinition {
  readonly name: string
  readonly kind: StepKind
  readonly pending: Pending<unknown> | undefined
  readonly command: readonly ShellValue[] | string | undefined
  readonly shell: ShellOptions
  readonly branches: Readonly<Record<string, PipelineDefinition>> | undefined
  readonly map: MapDefinition | undefined
  readonly options: StepOptions
  /** Names of the steps of this pipeline it waits for. */
  readonly deps: readonly string[]
}

export interface MapDefinition {
  readonly items: readonly unknown[] | Pending<readonly unknown[]>
  readonly each: (item: unknown, index: number) => Pending<unknown>
  readonly reduce: ((values: unknown[]) => unknown) | undefined
}

/** One `p.param()` declaration. */
export interface ParamDeclaration {
  readonly name: string
  /** The pipeline that declared it. */
  readonly pipeline: string
  readonly hasDefault: boolean
  readonly defaultValue: unknown
}
