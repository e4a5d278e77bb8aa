/**
 * Batches sent while the node's worker is being stopped (to end another batch: a deadline, a
 * cancellation) wait here for its replacement, and go to it once it is there. One taken back
 * meanwhile never goes; its task definitions (and news of the node's place) still do, header
 * only, since the dispatcher has recorded them as sent to the node's current worker.
 */
import { NodeFailure, type BatchControl } from '../backend.js'
import { TAKEN_BACK } from '../../protocol/claims.js'
import { REQUEST_HEADER, type BatchRequest } from '../../protocol/messages.js'

export class ReplacementWait {
  private waiting: Array<() => void> = []

  /**
   * Holds `batch` until `flush()`; then `send` sends it, or `post` the header of one taken back.
   * `failed` reports a take-back or a send that threw. Returns the batch's control.
   */
  hold(batch: BatchRequest, send: () => BatchControl, post: (header: unknown[]) => void, failed: (failure: NodeFailure) => void): BatchControl {
    let control: BatchControl | undefined
    let takenBack = false
    this.waiting.push(() => {
      if (takenBack) {
        batch[2] = TAKEN_BACK
        if (batch[0] !== undefined || batch[4] !== undefined) post(batch.slice(0, REQUEST_HEADER))
        return
      }
      try {
        control = send()
      } catch (error) {
        // Not sent (a value clone refuses): back to the dispatcher, whose own send sorts it out.
        failed(new NodeFailure('crash', `the batch could not be sent: ${String(error)}`, { interrupted: true, cause: error }))
      }
    })
    return (how) => {
      if (control !== undefined) return control(how)
      if (takenBack) return
      takenBack = true
      failed(new NodeFailure('revoked', 'it was taken back before it was sent'))
    }
  }

  /** The replacement is there (or the node closed: the sends fail then). */
  flush(): void {
    for (const send of this.waiting.splice(0)) send()
  }
}
