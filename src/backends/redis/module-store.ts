/**
 * Task modules on the Redis backend travel by content, as over SSH (agent/module-frames.ts): the
 * caller stores each file's source once in the broker under its content hash (`m:<hash>/<name>`),
 * and tells each worker, on its request stream, only the name; a worker fetches a file it does not
 * have in its cache, once, whoever ships it next. A source is stored again once half its lifetime
 * has passed, so a worker that joins late still finds it, and again after a broker restart.
 */
import type { Redis } from 'ioredis'
import type { ModuleFrame } from '../agent/module-frames.js'
import { MODULE_LIFETIME_MS, type PoolKeys } from './keys.js'

/** Caller → worker: a module of `path` in the pool's store is the caller's `ship` URL. */
export interface ShipFrame {
  readonly ship: string
  readonly path: string
}

export class ModuleStore {
  /** When each source was last stored, by path. */
  private readonly storedAt = new Map<string, number>()

  constructor(
    private readonly redis: Redis,
    private readonly keys: PoolKeys,
  ) {}

  /**
   * Makes sure `frame`'s source is in the broker and says what to send the worker. Commands on
   * one connection run in order, so the source is there before the worker reads the frame.
   */
  store(frame: ModuleFrame): ShipFrame {
    const now = Date.now()
    if (now - (this.storedAt.get(frame.path) ?? -Infinity) > MODULE_LIFETIME_MS / 2) {
      this.storedAt.set(frame.path, now)
      void this.redis.set(this.keys.module(frame.path), Buffer.from(frame.source), 'PX', MODULE_LIFETIME_MS).catch(() => this.storedAt.delete(frame.path))
    }
    return { ship: frame.ship, path: frame.path }
  }

  /** The broker restarted: nothing is stored any more. */
  forget(): void {
    this.storedAt.clear()
  }
}
