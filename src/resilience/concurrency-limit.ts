/**
 * Per-service concurrency limit: at most `maxInFlight` requests in flight and `maxQueued` waiting
 * (FIFO, each for at most `queueTimeoutMs`); beyond that, fail fast with OverloadedError (503).
 * `maxInFlight: 0` means unlimited: `tryAcquire()` is then a counter increment.
 *
 * Hot path, no promise when a slot is free:
 *   if (!limit.tryAcquire()) await limit.acquire(signal)   // may throw OverloadedError
 *   try { ... } finally { limit.release() }
 * `release()` hands the slot straight to the oldest waiter, so queued requests keep FIFO order
 * and cannot be overtaken by newcomers calling `tryAcquire()`.
 */
import type { Clock, Timer } from '../clock.js'
import { ClientAbortedError, DrainingError, OverloadedError } from '../errors.js'

export interface ConcurrencyLimitOptions {
  readonly service: string
  /** 0 = unlimited. */
  readonly maxInFlight: number
  readonly maxQueued: number
  readonly queueTimeoutMs: number
}

export interface ConcurrencyStats {
  readonly inFlight: number
  readonly queued: number
  /** Requests refused (queue full or queue timeout) since start. */
  readonly rejected: number
  /** Queue timeouts since start (included in `rejected`). */
  readonly timedOut: number
}

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
  timer: Timer | undefined
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  done: boolean
}

export class ConcurrencyLimit {
  readonly service: string
  private readonly max: number
  private readonly maxQueued: number
  private readonly queueTimeoutMs: number
  private readonly clock: Clock
  private active = 0
  private queue: Waiter[] = []
  private qHead = 0
  private waiting = 0
  private rejectedCount = 0
  private timedOutCount = 0
  private stopped = false

  constructor(options: ConcurrencyLimitOptions, clock: Clock) {
    this.service = options.service
    this.max = Math.max(0, options.maxInFlight)
    this.maxQueued = Math.max(0, options.maxQueued)
    this.queueTimeoutMs = options.queueTimeoutMs
    this.clock = clock
  }

  /** `maxInFlight: 0`: nothing is limited (callers may skip the limit altogether). */
  get unlimited(): boolean {
    return this.max === 0
  }

  get inFlight(): number {
    return this.active
  }

  get queued(): number {
    return this.waiting
  }

  /** Takes a slot if one is free right now (and nobody is queued ahead). */
  tryAcquire(): boolean {
    if (this.max === 0 || (this.active < this.max && this.waiting === 0)) {
      this.active++
      return true
    }
    return false
  }

  /**
   * Waits for a slot in FIFO order. Rejects with OverloadedError when the queue is full or the
   * wait exceeds queueTimeoutMs, and with the signal's reason (ClientAbortedError by default) when
   * the signal aborts first.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve()
    if (signal?.aborted) return Promise.reject(signal.reason ?? new ClientAbortedError())
    if (this.stopped) return Promise.reject(new DrainingError())
    if (this.waiting >= this.maxQueued) {
      this.rejectedCount++
      const why = this.maxQueued === 0 ? `${this.max} requests in flight` : `${this.max} in flight and ${this.maxQueued} queued`
      return Promise.reject(new OverloadedError(this.service, why))
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: undefined, signal, onAbort: undefined, done: false }
      if (this.queueTimeoutMs > 0) {
        w.timer = this.clock.setTimer(() => {
          this.timedOutCount++
          this.rejectedCount++
          this.settle(w, new OverloadedError(this.service, `queued longer than ${this.queueTimeoutMs}ms`))
        }, this.queueTimeoutMs)
      }
      if (signal) {
        w.onAbort = () => this.settle(w, signal.reason ?? new ClientAbortedError())
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.queue.push(w)
      this.waiting++
    })
  }

  /** Gives a slot back: to the oldest waiter if any, else to the pool. */
  release(): void {
    while (this.waiting > 0) {
      const w = this.queue[this.qHead]!
      this.queue[this.qHead++] = undefined as unknown as Waiter
      if (this.qHead > 64 && this.qHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.qHead)
        this.qHead = 0
      }
      if (w.done) continue
      this.settle(w, undefined) // the slot passes to it: `active` stays the same
      return
    }
    if (this.active > 0) this.active--
  }

  /** Rejects every queued request, and later ones that would queue, with DrainingError; in-flight ones finish. Idempotent. */
  stop(): void {
    this.stopped = true
    for (let i = this.qHead; i < this.queue.length; i++) {
      const w = this.queue[i]
      if (w && !w.done) this.settle(w, new DrainingError())
    }
    this.queue = []
    this.qHead = 0
  }

  stats(): ConcurrencyStats {
    return { inFlight: this.active, queued: this.waiting, rejected: this.rejectedCount, timedOut: this.timedOutCount }
  }

  /** Resolves (err undefined) or rejects a waiter exactly once and forgets its timer and listener. */
  private settle(w: Waiter, err: unknown): void {
    if (w.done) return
    w.done = true
    this.waiting--
    w.timer?.cancel()
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort)
    if (err === undefined) w.resolve()
    else w.reject(err)
  }
}
