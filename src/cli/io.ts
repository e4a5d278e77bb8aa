/** What the CLI is given instead of `process` (bin.ts passes the real ones; tests pass captured streams). */
/** A stream the CLI writes to; `isTTY`/`columns` decide whether progress is redrawn live. */
export interface CliOutput {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

export interface CliIO {
  readonly stdout: CliOutput
  readonly stderr: CliOutput
  /** Relative paths (the pipeline file, --trace, the run log) are resolved against it. */
  readonly cwd: string
  /** Aborted on Ctrl-C: the run is cancelled and recorded as `cancelled`. */
  readonly signal?: AbortSignal
}
