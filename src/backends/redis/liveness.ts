/**
 * Who is still there, as each side of a pool sees it through the broker: the caller watches its
 * workers' heartbeat keys, a worker watches its callers'. A key that has gone means its owner
 * is gone, but only while the broker itself is well: a broker that restarted lost every key
 * (their owners write them again within a heartbeat), and one that was paused (`CLIENT PAUSE`)
 * or slow let keys expire whose renewals were waiting behind the pause. So a missing key is
 * believed only when the check was answered within a heartbeat and the broker has been well
 * for a whole key lifetime before it, and for the time every client needs to reconnect (each
 * reconnects on its own schedule, up to RECONNECT_MAX_MS apart, then writes its key again).
 *
 * Each check also reads the server's `run_id`, which changes when Redis restarts: then the side
 * that checks writes its keys again and sends again what the broker may have lost (`restarted`).
 */
import type { Redis } from 'ioredis'
import { RECONNECT_MAX_MS } from './connect.js'

/** Heartbeat keys live this many heartbeats unless renewed. */
export const KEY_LIFETIME = 3

export class Liveness {
  private runId: string | undefined
  /** Until then, a key found missing is not believed: the broker was away or slow. */
  private doubtUntil = 0
  private checking = false

  constructor(
    private readonly redis: Redis,
    private readonly heartbeatMs: number,
    private readonly restarted: () => void,
  ) {}

  /**
   * Which of `owners` are gone for good (their heartbeat `key` missing), by one round trip that
   * also reads the server's run_id. A check still waiting when the next is due is not doubled.
   */
  async missing<T>(owners: readonly T[], key: (owner: T) => string): Promise<T[]> {
    if (this.checking) return []
    this.checking = true
    const sent = performance.now()
    try {
      const pipeline = this.redis.pipeline().info('server')
      for (const owner of owners) pipeline.exists(key(owner))
      const replies = (await pipeline.exec()) ?? []
      const answered = performance.now()
      const runId = /run_id:(\w+)/.exec(String(replies[0]?.[1] ?? ''))?.[1]
      if (this.runId !== undefined && runId !== undefined && runId !== this.runId) {
        this.doubt(answered)
        this.runId = runId
        this.restarted()
        return []
      }
      this.runId ??= runId
      if (answered - sent > this.heartbeatMs) this.doubt(answered)
      if (answered < this.doubtUntil) return []
      return owners.filter((_, i) => replies[i + 1]?.[1] === 0)
    } catch {
      this.doubt(performance.now()) // the broker is away: ioredis reconnects
      return []
    } finally {
      this.checking = false
    }
  }

  /** The broker was away or slow at `now`: keys may lapse without their owners being gone. */
  private doubt(now: number): void {
    this.doubtUntil = now + KEY_LIFETIME * this.heartbeatMs + 2 * RECONNECT_MAX_MS
  }
}
