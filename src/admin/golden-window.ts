/**
 * The golden signals of a route (or a service: its routes merged) over a sliding last minute:
 * success rate, requests per second, p50 and p99 — what `linkerd viz stat` leads with. A ring of
 * short time slots (default 13 × 5 s) with request and failure counts and a latency histogram per
 * slot (health/histogram.ts bins, so percentiles are within 6.25%). A read takes every slot that
 * ends inside the last `windowMs`, the one still filling included: the numbers are never a whole
 * slot behind, and the rate is divided by the time those slots actually cover (at least 1 s).
 *
 * `record()` is on the request path: O(1), allocation-free; a slot is cleared when it is reused
 * (O(BINS) once per slot length). Times are clock ms (Clock.now), injected by the caller.
 */
import { BINS, binOf, binValueMs, quantileBin } from '../health/histogram.js'

/** How one finished request counts: 0 success, 1 failure, 2 neutral (not in the success rate). */
export type RequestVerdict = 0 | 1 | 2
export const SUCCESS: RequestVerdict = 0
export const FAILURE: RequestVerdict = 1
export const NEUTRAL: RequestVerdict = 2

const CLIENT_ABORTED = 'COMMY_ERR_CLIENT_ABORTED'

/**
 * A client request's verdict, as a caller sees it (Linkerd's rule): a 5xx, no valid status, or a
 * response cut after it started (an error code with a 1xx-3xx status) is a failure; a client
 * that left first (499) is neutral; anything else (4xx included) is a success.
 */
export function requestVerdict(status: number, code: string | undefined): RequestVerdict {
  if (status === 499 || code === CLIENT_ABORTED) return NEUTRAL
  if (status >= 500 || status < 100) return FAILURE
  if (code !== undefined && status < 400) return FAILURE
  return SUCCESS
}

/** The golden signals as the admin JSON shows them. */
export interface GoldenSignals {
  /** Successes / (successes + failures) over the window; null with no such request. */
  readonly successRate: number | null
  readonly rps: number
  /** Latency percentiles in ms; null with no request in the window. */
  readonly p50Ms: number | null
  readonly p99Ms: number | null
}

export const NO_SIGNALS: GoldenSignals = Object.freeze({ successRate: null, rps: 0, p50Ms: null, p99Ms: null })

export interface WindowOptions {
  /** Length of the window in ms (default 60 s). */
  readonly windowMs?: number
  /** Length of one slot in ms (default 5 s); the ring holds windowMs / slotMs + 1 slots. */
  readonly slotMs?: number
}

export class RequestWindow {
  readonly windowMs: number
  readonly slotMs: number
  /** Clock ms when the window was made: a younger window divides by its age. */
  readonly since: number
  private readonly n: number
  /** Slot number (time / slotMs) each ring entry holds; -1: never written. */
  private readonly no: Float64Array
  /** requests, failures, neutral per ring entry. */
  private readonly counts: Float64Array
  private readonly hist: Uint32Array

  constructor(now: number, options: WindowOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000
    this.slotMs = options.slotMs ?? 5_000
    if (!(this.slotMs > 0) || !(this.windowMs >= this.slotMs)) throw new RangeError('a window needs slotMs > 0 and windowMs >= slotMs')
    this.since = now
    this.n = Math.ceil(this.windowMs / this.slotMs) + 1
    this.no = new Float64Array(this.n).fill(-1)
    this.counts = new Float64Array(3 * this.n)
    this.hist = new Uint32Array(this.n * BINS)
  }

  /** One finished request. O(1), no allocation. */
  record(now: number, verdict: RequestVerdict, latencyMs: number): void {
    const k = Math.floor(now / this.slotMs)
    const i = k % this.n
    if (this.no[i] !== k) {
      if (this.no[i]! > k) return // a late sample for a slot already reused
      this.no[i] = k
      this.counts.fill(0, 3 * i, 3 * i + 3)
      this.hist.fill(0, i * BINS, (i + 1) * BINS)
    }
    this.counts[3 * i]!++
    if (verdict !== SUCCESS) this.counts[3 * i + verdict]!++
    this.hist[i * BINS + binOf(latencyMs)]!++
  }

  /** Adds the slots inside the window ending at `now` to `acc`. */
  addTo(acc: WindowSum, now: number): void {
    const k = Math.floor(now / this.slotMs)
    // slots that end after now - windowMs, up to the one now falls in
    const oldest = Math.floor((now - this.windowMs) / this.slotMs)
    for (let i = 0; i < this.n; i++) {
      const no = this.no[i]!
      if (no < oldest || no > k) continue
      acc.requests += this.counts[3 * i]!
      acc.failures += this.counts[3 * i + 1]!
      acc.neutral += this.counts[3 * i + 2]!
      const h = acc.hist
      const off = i * BINS
      for (let b = 0; b < BINS; b++) h[b]! += this.hist[off + b]!
    }
    // the time covered: from the oldest slot of the window (or the window's birth) to now
    const from = Math.max(this.since, oldest * this.slotMs)
    acc.coveredMs = Math.max(acc.coveredMs, now - from)
  }
}

/** A merge of windows (one route, or every route of a service), turned into signals. */
export class WindowSum {
  requests = 0
  failures = 0
  neutral = 0
  coveredMs = 0
  readonly hist = new Uint32Array(BINS)

  reset(): this {
    this.requests = this.failures = this.neutral = this.coveredMs = 0
    this.hist.fill(0)
    return this
  }

  signals(): GoldenSignals {
    if (this.requests === 0) return NO_SIGNALS
    const judged = this.requests - this.neutral
    const q = (p: number) => round3(binValueMs(quantileBin(this.hist, 0, this.requests, p)))
    return {
      successRate: judged > 0 ? round4((judged - this.failures) / judged) : null,
      rps: round3((this.requests * 1000) / Math.max(1000, this.coveredMs)),
      p50Ms: q(0.5),
      p99Ms: q(0.99),
    }
  }
}

/** Golden signals from totals kept elsewhere (the health history's window of an endpoint's tries). */
export function signalsOf(w: { readonly requests: number; readonly errors: number; readonly rps: number; readonly p50: number | null; readonly p99: number | null }): GoldenSignals {
  if (w.requests === 0) return NO_SIGNALS
  return {
    successRate: round4((w.requests - w.errors) / w.requests),
    rps: round3(w.rps),
    p50Ms: w.p50 === null ? null : round3(w.p50),
    p99Ms: w.p99 === null ? null : round3(w.p99),
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000
}
