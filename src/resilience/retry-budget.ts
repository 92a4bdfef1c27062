/**
 * Retry budget of one service (Finagle/Linkerd style): retries may be at most `ratio` × the
 * requests seen in a sliding window, plus a floor of `minPerSecond` × window seconds so that a
 * quiet service can still retry. During a full outage retries/requests therefore stays near
 * `ratio` instead of multiplying the load by the number of attempts.
 *
 * Count each original request once with `recordRequest()` (retries are not requests); ask
 * `tryAcquireRetry()` before every retry. The window is a ring of buckets rotated lazily from the
 * injected clock: no timer, O(1) per call.
 */
import type { Clock } from '../clock.js'

export interface RetryBudgetOptions {
  readonly ratio: number
  readonly minPerSecond: number
  /** Sliding window (default 10 s). */
  readonly windowMs?: number
  /** Buckets in the window (default 10: 1 s each). */
  readonly buckets?: number
}

export interface RetryBudgetStats {
  /** Original requests in the window. */
  readonly requests: number
  /** Retries granted in the window. */
  readonly retries: number
  /** Retries that may still be granted now. */
  readonly available: number
  /** Retries refused since start (budget exhausted). */
  readonly exhausted: number
  /** Retries granted since start. */
  readonly totalRetries: number
  /** Requests since start. */
  readonly totalRequests: number
}

export class RetryBudget {
  private readonly ratio: number
  private readonly reserve: number
  private readonly bucketMs: number
  private readonly reqs: Float64Array
  private readonly rets: Float64Array
  private readonly clock: Clock
  private head = 0
  private headStart: number
  private windowRequests = 0
  private windowRetries = 0
  private exhaustedCount = 0
  private totalRetries = 0
  private totalRequests = 0

  constructor(options: RetryBudgetOptions, clock: Clock) {
    const windowMs = options.windowMs ?? 10_000
    const n = Math.max(1, options.buckets ?? 10)
    this.ratio = Math.max(0, options.ratio)
    this.reserve = Math.max(0, options.minPerSecond) * (windowMs / 1000)
    this.bucketMs = Math.max(1, windowMs / n)
    this.reqs = new Float64Array(n)
    this.rets = new Float64Array(n)
    this.clock = clock
    this.headStart = clock.now()
  }

  recordRequest(): void {
    this.advance()
    this.reqs[this.head]!++
    this.windowRequests++
    this.totalRequests++
  }

  /** True (and the retry is counted) when the budget allows one more retry now. */
  tryAcquireRetry(): boolean {
    this.advance()
    if (this.windowRetries + 1 > this.ratio * this.windowRequests + this.reserve) {
      this.exhaustedCount++
      return false
    }
    this.rets[this.head]!++
    this.windowRetries++
    this.totalRetries++
    return true
  }

  stats(): RetryBudgetStats {
    this.advance()
    return {
      requests: this.windowRequests,
      retries: this.windowRetries,
      available: Math.max(0, Math.floor(this.ratio * this.windowRequests + this.reserve - this.windowRetries)),
      exhausted: this.exhaustedCount,
      totalRetries: this.totalRetries,
      totalRequests: this.totalRequests,
    }
  }

  private advance(): void {
    const now = this.clock.now()
    let steps = Math.floor((now - this.headStart) / this.bucketMs)
    if (steps <= 0) return
    this.headStart += steps * this.bucketMs
    const n = this.reqs.length
    if (steps > n) steps = n
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % n
      this.windowRequests -= this.reqs[this.head]!
      this.windowRetries -= this.rets[this.head]!
      this.reqs[this.head] = 0
      this.rets[this.head] = 0
    }
  }
}
