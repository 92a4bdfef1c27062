/**
 * Watches a request body as it arrives and cuts a client that trickles it: nothing received for
 * `limits.requestBodyIdleTimeout`, or less than `limits.minRequestBodyRate` bytes/s on average
 * once a 5 s grace is over (Kestrel's rule). Time while the reader is behind (the body waits
 * in memory for the upstream, or for a connection) is not the client's and is not counted.
 *
 * It polls the connection's byte count a few times a second on the injected clock: no work per
 * chunk, one unref'd timer per request body still arriving, none once the body is complete.
 */
import type { IncomingMessage } from 'node:http'
import type { Clock, Timer } from '../clock.js'
import { RequestTimeoutError } from '../errors.js'

/** The limits a body is held to (a slice of LimitsConfig). */
export interface BodyRateLimits {
  /** 0: no idle limit. */
  readonly requestBodyIdleTimeoutMs: number
  /** Bytes/s; 0: no minimum. */
  readonly minRequestBodyRate: number
}

/** Kestrel's grace before the minimum rate applies. */
export const RATE_GRACE_MS = 5_000

export class BodyWatch {
  private timer: Timer | null = null
  private readonly period: number
  private readonly startBytes: number
  private lastBytes: number
  private lastTick: number
  private lastProgress: number
  /** Time the client had to send (the reader was waiting for it). */
  private activeMs = 0

  constructor(
    private readonly req: IncomingMessage,
    private readonly limits: BodyRateLimits,
    private readonly clock: Clock,
    private readonly onTimeout: (err: RequestTimeoutError) => void,
  ) {
    this.startBytes = this.lastBytes = req.socket.bytesRead
    this.lastTick = this.lastProgress = clock.now()
    this.period = tickMs(limits.requestBodyIdleTimeoutMs)
  }

  /** Watches `req` when a limit is set and its body is still arriving; else returns null. */
  static start(req: IncomingMessage, limits: BodyRateLimits, clock: Clock, onTimeout: (err: RequestTimeoutError) => void): BodyWatch | null {
    if (req.complete || (limits.requestBodyIdleTimeoutMs <= 0 && limits.minRequestBodyRate <= 0)) return null
    const w = new BodyWatch(req, limits, clock, onTimeout)
    w.schedule()
    return w
  }

  stop(): void {
    if (this.timer !== null) {
      this.timer.cancel()
      this.timer = null
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(this.tick, this.period)
  }

  private readonly tick = (): void => {
    this.timer = null
    const req = this.req
    if (req.complete || req.destroyed) {
      this.stop()
      return
    }
    const now = this.clock.now()
    const elapsed = now - this.lastTick
    this.lastTick = now
    const bytes = req.socket.bytesRead
    if (bytes > this.lastBytes) {
      this.lastBytes = bytes
      this.lastProgress = now
    }
    if (req.readableLength > 0) {
      // received data waits for the reader: the client is not the slow party now
      this.lastProgress = now
      this.schedule()
      return
    }
    this.activeMs += elapsed
    const L = this.limits
    const idle = now - this.lastProgress
    if (L.requestBodyIdleTimeoutMs > 0 && idle >= L.requestBodyIdleTimeoutMs) {
      this.fire(new RequestTimeoutError(`request body sent nothing for ${Math.round(idle)}ms (limits.requestBodyIdleTimeout ${L.requestBodyIdleTimeoutMs}ms)`))
      return
    }
    if (L.minRequestBodyRate > 0 && this.activeMs >= RATE_GRACE_MS) {
      const rate = ((bytes - this.startBytes) * 1000) / this.activeMs
      if (rate < L.minRequestBodyRate) {
        this.fire(new RequestTimeoutError(`request body arrived at ${Math.floor(rate)} B/s, under limits.minRequestBodyRate ${L.minRequestBodyRate} B/s`))
        return
      }
    }
    this.schedule()
  }

  private fire(err: RequestTimeoutError): void {
    this.stop()
    this.onTimeout(err)
  }
}

/** Polling period: a quarter of the idle limit, between 50 ms and 1 s. */
function tickMs(idleMs: number): number {
  if (idleMs <= 0) return 1000
  return Math.min(1000, Math.max(50, Math.floor(idleMs / 4)))
}
