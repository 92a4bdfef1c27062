/**
 * The one way commy tells interested parties about something: a typed list of listeners.
 *
 * - `Listeners<A>`: callbacks taking the arguments `A` (e.g. a discovery source's updates).
 * - `EventHub<E>`: subscribers give an object with the callbacks they want from an event table
 *   `E` (e.g. `{ added?(ep): void; removed?(ep): void }`); `emit('added', ep)` calls each one
 *   that has `added`.
 *
 * Both return an unsubscribe function from `add`/`on`, and both handle a throwing listener the
 * same way: it is reported to the owner's `onError` (which logs it; without one it is dropped)
 * and never stops the other listeners nor the code that emitted. Adding or removing during an
 * emit affects the next emit only (the list is copied on write, emits allocate nothing).
 */

/** Told when a listener throws; `event` names the event for an EventHub. */
export type ListenerErrorHandler = (err: unknown, event?: string) => void

const ignore: ListenerErrorHandler = () => {}

export class Listeners<A extends unknown[]> {
  private list: readonly ((...args: A) => void)[] = []
  private readonly onError: ListenerErrorHandler

  constructor(onError: ListenerErrorHandler = ignore) {
    this.onError = onError
  }

  get size(): number {
    return this.list.length
  }

  /** Adds `fn`; the returned function removes it (harmless twice). */
  add(fn: (...args: A) => void): () => void {
    this.list = [...this.list, fn]
    return () => void (this.list = this.list.filter((l) => l !== fn))
  }

  emit(...args: A): void {
    for (const fn of this.list) {
      try {
        fn(...args)
      } catch (err) {
        this.onError(err)
      }
    }
  }

  clear(): void {
    this.list = []
  }
}

/** An event table: every member an optional callback. */
export type EventTable<E> = { [K in keyof E]?: (...args: never[]) => void }

type Args<E, K extends keyof E> = NonNullable<E[K]> extends (...args: infer A) => void ? A : never

export class EventHub<E extends EventTable<E>> {
  private list: readonly E[] = []
  private readonly onError: ListenerErrorHandler

  constructor(onError: ListenerErrorHandler = ignore) {
    this.onError = onError
  }

  get size(): number {
    return this.list.length
  }

  /** Subscribes an object of callbacks; the returned function unsubscribes it (harmless twice). */
  on(subscriber: E): () => void {
    this.list = [...this.list, subscriber]
    return () => void (this.list = this.list.filter((s) => s !== subscriber))
  }

  /** Subscribes one callback to one event. */
  listen<K extends keyof E>(event: K, fn: NonNullable<E[K]>): () => void {
    return this.on({ [event]: fn } as unknown as E)
  }

  /** Anyone listening for `event`? (lets hot paths skip building a payload). */
  wants(event: keyof E): boolean {
    for (const s of this.list) if (s[event] !== undefined) return true
    return false
  }

  emit<K extends keyof E>(event: K, ...args: Args<E, K>): void {
    for (const s of this.list) {
      const fn = s[event] as ((...a: Args<E, K>) => void) | undefined
      if (fn === undefined) continue
      try {
        fn.apply(s, args)
      } catch (err) {
        this.onError(err, String(event))
      }
    }
  }

  clear(): void {
    this.list = []
  }
}
