/**
 * Passive outlier detection for one service (Envoy's consecutive-errors ejection).
 *
 * Every classified outcome is `record()`ed. `consecutiveErrors` failures in a row eject the
 * endpoint for `baseEjectionTimeMs × n` (n = its ejection multiplier after this ejection), capped
 * at `maxEjectionTimeMs`. Ejecting sets `ep.ejectedUntil`/`ep.ejectionReason`, resets the
 * endpoint's consecutive-failure counter and calls `changed()`; an unref'd timer on the injected
 * clock un-ejects it and calls `changed()` again. At most `maxEjectionPercent` of the service's
 * endpoints are ejected at once (but at least one when the percentage is above 0, as Envoy does).
 * The multiplier decays: it drops by one for every `decayIntervalMs` the endpoint spent in service
 * without being ejected, so an endpoint that failed once long ago starts from the base time again.
 * While `isLagging()` (commy's own event loop is slow) failures are not counted: slow answers are
 * then our fault, not the endpoint's. Successes always reset the consecutive count; neutral
 * outcomes leave it as is.
 */
import type { OutlierConfig } from '../config/types.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { Clock, Timer } from '../clock.js'
import type { Startable } from '../lifecycle.js'
import type { Verdict } from '../pipeline/failure-classifier.js'

export interface Ejection {
  readonly endpoint: Endpoint
  readonly durationMs: number
  /** Multiplier after this ejection (1 for the first). */
  readonly multiplier: number
  readonly reason: string
}

export interface OutlierDetection extends Startable {
  /** Synchronous: nothing to wait for. */
  start(): void
  stop(): void
  /** One classified outcome of a request that `ep` served. */
  record(ep: Endpoint, verdict: Verdict, reason?: string): void
  /** The endpoint left the service: drop its state and timer. */
  forget(ep: Endpoint): void
  /** Multiplier the next ejection of `ep` would start from (0: none pending), for the admin view. */
  multiplier(ep: Endpoint): number
}

export interface OutlierDetectorDeps {
  readonly clock: Clock
  /** Every endpoint of the service now (for maxEjectionPercent), e.g. `() => set.snapshot.all`. */
  readonly endpoints: () => readonly Endpoint[]
  /** Called after an ejection or un-ejection (ServiceEndpoints.refresh). */
  readonly changed: () => void
  /** While true, failures are not counted (default: never lagging). */
  readonly isLagging?: () => boolean
  /** Healthy time that takes one step off the ejection multiplier (default baseEjectionTimeMs). */
  readonly decayIntervalMs?: number
  readonly onEject?: (ejection: Ejection) => void
  readonly onReturn?: (ep: Endpoint) => void
  /** An ejection the percentage cap prevented. */
  readonly onCapped?: (ep: Endpoint) => void
}

interface EjectionState {
  multiplier: number
  /** Clock ms since which the endpoint has been in service (multiplier decays from here). */
  servingSince: number
  timer: Timer | undefined
}

const never = (): boolean => false

export function createOutlierDetection(config: OutlierConfig, deps: OutlierDetectorDeps): OutlierDetection {
  return config.enabled ? new OutlierDetector(config, deps) : new NoOutlierDetection()
}

export class OutlierDetector implements OutlierDetection {
  private readonly config: OutlierConfig
  private readonly deps: OutlierDetectorDeps
  private readonly isLagging: () => boolean
  private readonly decayMs: number
  private readonly states = new Map<Endpoint, EjectionState>()
  private stopped = false

  constructor(config: OutlierConfig, deps: OutlierDetectorDeps) {
    this.config = config
    this.deps = deps
    this.isLagging = deps.isLagging ?? never
    this.decayMs = Math.max(1, deps.decayIntervalMs ?? config.baseEjectionTimeMs)
  }

  start(): void {}

  record(ep: Endpoint, verdict: Verdict, reason = ''): void {
    if (verdict === 'success') {
      ep.consecutiveFailures = 0
      return
    }
    if (verdict !== 'failure' || this.stopped || this.isLagging()) return
    const now = this.deps.clock.now()
    if (ep.ejectedUntil > now) return // a straggler of an already ejected endpoint
    ep.consecutiveFailures++
    if (ep.consecutiveFailures < this.config.consecutiveErrors) return
    if (!this.mayEject(now)) {
      this.deps.onCapped?.(ep)
      return
    }
    this.eject(ep, now, `${ep.consecutiveFailures} consecutive failures${reason ? ` (last: ${reason})` : ''}`)
  }

  forget(ep: Endpoint): void {
    const st = this.states.get(ep)
    st?.timer?.cancel()
    this.states.delete(ep)
  }

  /** Multiplier the next ejection of `ep` would start from (after decay), for the admin view. */
  multiplier(ep: Endpoint): number {
    const st = this.states.get(ep)
    return st ? this.decayed(st, this.deps.clock.now()) : 0
  }

  /** Cancels every un-eject timer. Ejected endpoints stay as they are. Idempotent. */
  stop(): void {
    this.stopped = true
    for (const st of this.states.values()) {
      st.timer?.cancel()
      st.timer = undefined
    }
  }

  private mayEject(now: number): boolean {
    const pct = this.config.maxEjectionPercent
    if (pct <= 0) return false
    const all = this.deps.endpoints()
    let ejected = 0
    for (const e of all) if (e.ejectedUntil > now) ejected++
    const limit = Math.max(1, Math.floor((all.length * pct) / 100))
    return ejected < limit
  }

  private decayed(st: EjectionState, now: number): number {
    if (st.timer !== undefined) return st.multiplier
    const steps = Math.floor((now - st.servingSince) / this.decayMs)
    return Math.max(0, st.multiplier - steps)
  }

  private eject(ep: Endpoint, now: number, reason: string): void {
    let st = this.states.get(ep)
    if (!st) {
      st = { multiplier: 0, servingSince: now, timer: undefined }
      this.states.set(ep, st)
    }
    st.multiplier = this.decayed(st, now) + 1
    const durationMs = Math.min(this.config.baseEjectionTimeMs * st.multiplier, this.config.maxEjectionTimeMs)
    ep.consecutiveFailures = 0
    ep.ejectedUntil = now + durationMs
    ep.ejectionReason = `ejected for ${durationMs}ms: ${reason}`
    const state = st
    st.timer?.cancel()
    st.timer = this.deps.clock.setTimer(() => this.restore(ep, state), durationMs)
    this.deps.changed()
    this.deps.onEject?.({ endpoint: ep, durationMs, multiplier: st.multiplier, reason })
  }

  private restore(ep: Endpoint, st: EjectionState): void {
    st.timer = undefined
    if (this.stopped || this.states.get(ep) !== st) return
    st.servingSince = this.deps.clock.now()
    ep.ejectedUntil = 0
    ep.ejectionReason = ''
    ep.consecutiveFailures = 0
    this.deps.changed()
    this.deps.onReturn?.(ep)
  }
}

/** Outlier detection switched off (still counts consecutive failures for the admin view, never ejects). */
export class NoOutlierDetection implements OutlierDetection {
  start(): void {}
  stop(): void {}
  record(ep: Endpoint, verdict: Verdict): void {
    if (verdict === 'success') ep.consecutiveFailures = 0
    else if (verdict === 'failure') ep.consecutiveFailures++
  }
  forget(): void {}
  multiplier(): number {
    return 0
  }
}
