/**
 * One 'abort' listener per signal, however many calls share it. A pipeline run or a gather
 * passes one signal to thousands of calls; EventTarget's addEventListener/removeEventListener
 * cost about a microsecond each, which a per-call listener pays on every call's hot path.
 */
interface Watched<T> {
  readonly items: Set<T>
  readonly listener: () => void
}

export class AbortWatch<T> {
  private readonly bySignal = new Map<AbortSignal, Watched<T>>()

  /** `onAbort(item, reason)` is called for every item still watched when `signal` aborts. */
  constructor(private readonly onAbort: (item: T, reason: unknown) => void) {}

  watch(item: T, signal: AbortSignal): void {
    let watched = this.bySignal.get(signal)
    if (watched === undefined) {
      const listener = () => {
        this.bySignal.delete(signal)
        for (const each of [...watched!.items]) this.onAbort(each, signal.reason)
      }
      watched = { items: new Set(), listener }
      this.bySignal.set(signal, watched)
      signal.addEventListener('abort', listener, { once: true })
    }
    watched.items.add(item)
  }

  unwatch(item: T, signal: AbortSignal): void {
    const watched = this.bySignal.get(signal)
    if (watched === undefined || !watched.items.delete(item) || watched.items.size > 0) return
    this.bySignal.delete(signal)
    signal.removeEventListener('abort', watched.listener)
  }
}
