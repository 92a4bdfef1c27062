/**
 * A suspicion timer that shortens as independent members confirm it (Lifeguard). It starts at
 * `maxMs` and, with c of the k wanted confirmations, fires after
 *
 *     max(minMs, maxMs - (maxMs - minMs) · log(c + 1) / log(k + 1))
 *
 * since it began; with k = 0 (Lifeguard off, or too few members) it fires after `minMs`.
 * The suspecter that started it does not count as a confirmation, nor does anyone twice.
 */
import type { Clock, Timer } from '../clock.js'

export interface SuspicionTimeouts {
  readonly minMs: number
  readonly maxMs: number
  /** Confirmations wanted to reach minMs. */
  readonly k: number
}

/**
 * The bounds for a cluster of n live members: min = suspicionMult · max(1, log10 n) · probeInterval,
 * max = suspicionMaxTimeoutMult · min, k = suspicionMult − 2 (0 when fewer than k + 2 other members
 * could confirm, or without Lifeguard, in which case max = min).
 */
export function suspicionTimeouts(
  n: number,
  cfg: { readonly suspicionMult: number; readonly suspicionMaxTimeoutMult: number; readonly probeIntervalMs: number; readonly lifeguard: boolean },
): SuspicionTimeouts {
  const minMs = cfg.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * cfg.probeIntervalMs
  if (!cfg.lifeguard) return { minMs, maxMs: minMs, k: 0 }
  let k = Math.max(0, Math.floor(cfg.suspicionMult - 2))
  if (n - 2 < k) k = 0
  return { minMs, maxMs: cfg.suspicionMaxTimeoutMult * minMs, k }
}

export class Suspicion {
  private readonly confirmations = new Set<string>()
  private readonly startedAt: number
  private timer: Timer | undefined
  private fired = false
  private graced = false

  /**
   * `lateGraceMs` (Lifeguard, 0 = off): if the timer fires later than that after its deadline,
   * this node was stalled and the refutation may be waiting unread in its socket (timers run
   * before I/O after a stall); wait that much once more before giving up on the member.
   */
  constructor(
    private readonly from: string,
    private readonly timeouts: SuspicionTimeouts,
    private readonly clock: Clock,
    private readonly onTimeout: (confirmations: number) => void,
    private readonly lateGraceMs = 0,
  ) {
    this.startedAt = clock.now()
    this.schedule()
  }

  /** Total time this suspicion lasts with its current confirmations (ms from its start). */
  get timeoutMs(): number {
    const { minMs, maxMs, k } = this.timeouts
    if (k < 1) return minMs
    const frac = Math.log(this.confirmations.size + 1) / Math.log(k + 1)
    return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)))
  }

  get confirmationCount(): number {
    return this.confirmations.size
  }

  /** A new, independent confirmation shortens the timer; returns true if it was new. */
  confirm(from: string): boolean {
    if (this.fired || this.timeouts.k < 1) return false
    if (from === this.from || this.confirmations.has(from) || this.confirmations.size >= this.timeouts.k) return false
    this.confirmations.add(from)
    this.schedule()
    return true
  }

  cancel(): void {
    this.timer?.cancel()
    this.timer = undefined
    this.fired = true
  }

  private schedule(): void {
    this.timer?.cancel()
    const due = this.startedAt + this.timeoutMs
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined
      if (this.fired) return
      if (this.lateGraceMs > 0 && !this.graced && this.clock.now() - due > this.lateGraceMs) {
        this.graced = true
        this.timer = this.clock.setTimer(() => this.expire(), this.lateGraceMs)
        return
      }
      this.expire()
    }, Math.max(0, due - this.clock.now()))
  }

  private expire(): void {
    this.timer = undefined
    if (this.fired) return
    this.fired = true
    this.onTimeout(this.confirmations.size)
  }
}

/** The suspicions one node holds, by member name. */
export class Suspicions {
  private readonly byName = new Map<string, Suspicion>()

  constructor(
    private readonly clock: Clock,
    private readonly lateGraceMs: number,
  ) {}

  /** (Re)starts the timer for `name`; `onTimeout` runs once unless cancelled or restarted. */
  start(name: string, from: string, timeouts: SuspicionTimeouts, onTimeout: (confirmations: number) => void): void {
    this.byName.get(name)?.cancel()
    this.byName.set(
      name,
      new Suspicion(
        from,
        timeouts,
        this.clock,
        (c) => {
          this.byName.delete(name)
          onTimeout(c)
        },
        this.lateGraceMs,
      ),
    )
  }

  /** True when this was a new, independent confirmation. */
  confirm(name: string, from: string): boolean {
    return this.byName.get(name)?.confirm(from) ?? false
  }

  cancel(name: string): void {
    this.byName.get(name)?.cancel()
    this.byName.delete(name)
  }

  clear(): void {
    for (const s of this.byName.values()) s.cancel()
    this.byName.clear()
  }
}
