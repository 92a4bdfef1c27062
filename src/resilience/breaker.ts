/**
 * Per-endpoint circuit breaker: an opossum@9 CircuitBreaker measures the error rate, our gate owns
 * the half-open trial.
 *
 * How opossum is used. The streaming send is not wrapped as an opossum action: the pipeline asks
 * `admit()` before sending and reports the classified outcome with `record()`. A failure is
 * `fire()`d through opossum with an action that throws, so opossum's rolling window, volume
 * threshold and error percentage decide when to open (opossum handles a synchronous throw inside
 * `fire()`: the breaker is open as soon as `record()` returns). A success is counted the way
 * opossum's Status counts one (it listens to the breaker's `fire` and `success` events): emitting
 * them costs ~0.1 µs where `fire()` with its promises costs ~2 µs, and keeps successes and
 * failures in order (a fired success would only be counted a microtask later).
 * opossum's own timers are all turned off or made inert: no per-call timeout, no snapshot
 * interval, buckets rotated by us from the injected clock (`rotateBucketController`), and its
 * reset timer set so far out it never fires (it is cleared on close and on shutdown).
 *
 * Half-open. opossum on its own lets every concurrent request through in half-open (opossum#819),
 * so opossum never goes half-open here: after `resetTimeoutMs` on the injected clock *we* move to
 * half-open and hand out exactly one trial admission. Its success closes the breaker (and starts a
 * fresh window); its failure re-opens it for another `resetTimeoutMs`; a neutral outcome gives the
 * trial back. A trial that never reports within `trialTimeoutMs` counts as failed. While the trial
 * is in flight the endpoint is out of picking (`Endpoint.breaker.trial`, then `changed()`), so other
 * requests go elsewhere instead of being refused.
 *
 * Admissions are numbers so the hot path allocates nothing: 0 = rejected (falsy), 1 = admitted
 * while closed, >= 2 = the id of a half-open trial. Pass the admission back to `record()`: an
 * outcome of a request admitted before the breaker opened (a straggler) does not decide a trial.
 *
 * State. opossum's events stay in this file: its `open` (the error rate crossed the threshold),
 * our timers and the trial's outcome become `BreakerEvent`s, and the one pure transition function
 * (`nextBreaker()`, breaker-state.ts) gives the next `BreakerState` (a tagged union). The endpoint
 * carries that state (`Endpoint.breaker`); everything else (events, admin, metrics, explain)
 * reads it. A change of kind is told to the `stateChange` listeners (the resilience events, which
 * log it once at info with old state, new state and reason).
 */
import { EventEmitter } from 'node:events'
import CircuitBreaker from 'opossum'
import type { BreakerConfig } from '../config/types.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import { BreakerOpenError } from '../errors.js'
import type { Clock, Timer } from '../clock.js'
import { Listeners } from '../listeners.js'
import type { Verdict } from '../pipeline/failure-classifier.js'
import { BREAKER_CLOSED, nextBreaker, percent, type BreakerEvent, type BreakerKind, type BreakerState } from './breaker-state.js'

export type Admission = number
export const REJECTED: Admission = 0
export const ADMITTED: Admission = 1

export type StateChangeListener = (from: BreakerState, to: BreakerState, reason: string) => void

export interface BreakerStats {
  /** The state's name (as the admin API shows it). */
  readonly state: BreakerKind
  /** Outcomes recorded in the rolling window (successes + failures). */
  readonly fires: number
  readonly failures: number
  readonly successes: number
  /** failures / fires × 100 in the window (0 when empty). */
  readonly errorPercentage: number
  /** Clock ms of the last transition to open (0 = never). */
  readonly openedAt: number
  readonly trialInFlight: boolean
  /** Admissions refused since start. */
  readonly rejected: number
}

/** What the pipeline sees of a breaker. `NoBreaker` is the null object for `enabled: false`. */
export interface Breaker {
  readonly state: BreakerState
  /** Falsy when the request must not go to this endpoint now (pick another one). */
  admit(): Admission
  /** Like `admit()`, but throws BreakerOpenError when refused. */
  admitOrThrow(): Admission
  /** The classified outcome of a request `admit()` let through, with that admission. */
  record(verdict: Verdict, admission: Admission): void
  on(event: 'stateChange', listener: StateChangeListener): () => void
  stats(): BreakerStats
  stop(): void
}

export interface BreakerDeps {
  readonly clock: Clock
  /** Called after `ep.breaker` changed (ServiceEndpoints.refresh). */
  readonly changed: () => void
  /** How long a half-open trial may stay unreported before it counts as failed (default resetTimeoutMs). */
  readonly trialTimeoutMs?: number
}

/** A breaker for `ep` as configured; the null object when the breaker is disabled. */
export function createBreaker(ep: Endpoint, config: BreakerConfig, deps: BreakerDeps): Breaker {
  return config.enabled ? new EndpointBreaker(ep, config, deps) : new NoBreaker()
}

/** Converts opossum's own errors (EOPENBREAKER, ESHUTDOWN) to BreakerOpenError; others pass through. */
export function fromOpossumError(err: unknown, endpoint: string): unknown {
  if (err instanceof Error && CircuitBreaker.isOurError(err)) {
    const code = (err as { code?: unknown }).code
    if (code === 'EOPENBREAKER' || code === 'ESHUTDOWN') return new BreakerOpenError(endpoint, { cause: err })
  }
  return err
}

/** Longest delay setTimeout accepts: opossum's own reset timer is parked there, never firing. */
const NEVER_MS = 2 ** 31 - 1
const FAIL = Symbol('commy-breaker-failure')
const noop = (): void => {}
const RESOLVED: Promise<void> = Promise.resolve()
const SUCCESS_ARGS = Object.freeze([false])
/**
 * The opossum action. Throwing makes opossum handle a failure synchronously (inside `fire()`);
 * a success must return a thenable (opossum reads `result.then`).
 */
function action(failed: boolean): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- a private sentinel opossum catches; it never escapes
  if (failed) throw FAIL
  return RESOLVED
}

export class EndpointBreaker implements Breaker {
  private readonly ep: Endpoint
  private readonly config: BreakerConfig
  private readonly clock: Clock
  private readonly changed: () => void
  private readonly trialTimeoutMs: number
  private readonly cb: CircuitBreaker<[boolean], void>
  private readonly rotate = new EventEmitter()
  private readonly bucketMs: number
  private bucketStart: number
  private current: BreakerState = BREAKER_CLOSED
  private readonly listeners = new Listeners<[BreakerState, BreakerState, string]>()
  private resetTimer: Timer | undefined
  private trialTimer: Timer | undefined
  private lastTrial = 1
  private openedAt = 0
  private rejected = 0
  private stopped = false

  constructor(ep: Endpoint, config: BreakerConfig, deps: BreakerDeps) {
    this.ep = ep
    this.config = config
    this.clock = deps.clock
    this.changed = deps.changed
    this.trialTimeoutMs = deps.trialTimeoutMs ?? config.resetTimeoutMs
    this.bucketMs = Math.max(1, Math.floor(config.rollingCountTimeoutMs / Math.max(1, config.rollingCountBuckets)))
    this.bucketStart = this.clock.now()
    this.cb = new CircuitBreaker(action, {
      name: ep.id,
      timeout: false,
      resetTimeout: NEVER_MS,
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      rollingCountTimeout: config.rollingCountTimeoutMs,
      rollingCountBuckets: config.rollingCountBuckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.rotate,
    })
    // the only opossum event we listen to, converted here into ours
    this.cb.on('open', () => {
      const s = this.cb.stats
      this.apply({ type: 'tripped', at: this.clock.now(), failures: s.failures, fires: s.fires, windowMs: this.config.rollingCountTimeoutMs })
    })
    ep.breaker = this.current
  }

  get state(): BreakerState {
    return this.current
  }

  admit(): Admission {
    const s = this.current
    if (s.kind === 'closed') return ADMITTED
    if (s.kind === 'half-open' && s.trial === 0) {
      // the endpoint leaves picking until the trial reports (Endpoint.eligibility)
      const trial = ++this.lastTrial
      this.apply({ type: 'trial-taken', trial })
      this.trialTimer = this.clock.setTimer(() => {
        this.trialTimer = undefined
        this.apply({ type: 'trial-timed-out', trial, at: this.clock.now(), afterMs: this.trialTimeoutMs })
      }, this.trialTimeoutMs)
      return trial
    }
    this.rejected++
    return REJECTED
  }

  admitOrThrow(): Admission {
    const a = this.admit()
    if (a === REJECTED) throw new BreakerOpenError(this.ep.address)
    return a
  }

  record(verdict: Verdict, admission: Admission): void {
    if (this.stopped || admission === REJECTED) return
    const s = this.current
    if (s.kind === 'closed') {
      if (verdict === 'neutral') return
      this.rotateBuckets()
      if (verdict === 'failure') {
        this.cb.fire(true).catch(noop)
      } else {
        // opossum's Status counts what the breaker emits; a success needs no promise (≈0.1 µs vs ≈2 µs)
        this.cb.emit('fire', SUCCESS_ARGS)
        this.cb.emit('success', undefined, 0)
      }
      return
    }
    // open or half-open: only the current trial's outcome matters; stragglers are ignored
    if (s.kind !== 'half-open' || s.trial === 0 || admission !== s.trial) return
    this.trialTimer?.cancel()
    this.trialTimer = undefined
    const at = this.clock.now()
    if (verdict === 'neutral') this.apply({ type: 'trial-released', trial: s.trial })
    else if (verdict === 'success') this.apply({ type: 'trial-succeeded', trial: s.trial, at })
    else this.apply({ type: 'trial-failed', trial: s.trial, at })
  }

  on(event: 'stateChange', listener: StateChangeListener): () => void {
    if (event !== 'stateChange') throw new TypeError(`unknown breaker event ${String(event)}`)
    return this.listeners.add(listener)
  }

  stats(): BreakerStats {
    this.rotateBuckets()
    const s = this.cb.stats
    const fires = s.successes + s.failures
    const state = this.current
    return {
      state: state.kind,
      fires,
      failures: s.failures,
      successes: s.successes,
      errorPercentage: percent(s.failures, fires),
      openedAt: this.openedAt,
      trialInFlight: state.kind === 'half-open' && state.trial !== 0,
      rejected: this.rejected,
    }
  }

  /** Shuts the opossum breaker down and cancels our timers. Idempotent; leaves no handle. */
  stop(): void {
    if (this.stopped) return
    const s = this.current
    if (s.kind === 'half-open' && s.trial !== 0) {
      // give the trial back without telling anyone: the breaker is going away
      this.current = nextBreaker(s, { type: 'trial-released', trial: s.trial })
      this.ep.breaker = this.current
    }
    this.stopped = true
    this.resetTimer?.cancel()
    this.trialTimer?.cancel()
    this.resetTimer = this.trialTimer = undefined
    this.cb.shutdown()
    this.listeners.clear()
  }

  /** Rotates opossum's window by the buckets that elapsed on the injected clock. */
  private rotateBuckets(): void {
    const n = Math.floor((this.clock.now() - this.bucketStart) / this.bucketMs)
    if (n <= 0) return
    this.bucketStart += n * this.bucketMs
    const k = Math.min(n, this.config.rollingCountBuckets)
    for (let i = 0; i < k; i++) this.rotate.emit('rotate')
  }

  /** The one place the state changes: the pure transition, then what entering the new state takes. */
  private apply(e: BreakerEvent): void {
    if (this.stopped) return
    const from = this.current
    const to = nextBreaker(from, e)
    if (to === from) return
    this.current = to
    this.ep.breaker = to
    if (to.kind !== from.kind) this.entered(from, to)
    this.changed()
    if (to.kind !== from.kind) this.listeners.emit(from, to, to.reason)
  }

  private entered(from: BreakerState, to: BreakerState): void {
    if (to.kind === 'open') {
      this.openedAt = to.since
      // opossum is already open (it stays open outside 'closed'); a no-op kept as a guard
      if (from.kind === 'half-open') this.cb.open()
      this.resetTimer?.cancel()
      this.resetTimer = this.clock.setTimer(() => {
        this.resetTimer = undefined
        this.apply({ type: 'reset-elapsed', at: this.clock.now(), afterMs: this.config.resetTimeoutMs })
      }, this.config.resetTimeoutMs)
    } else if (to.kind === 'closed') {
      this.cb.close()
      // a fresh window: the failures that opened the breaker must not re-open it on the next error
      for (let i = 0; i < this.config.rollingCountBuckets; i++) this.rotate.emit('rotate')
      this.bucketStart = this.clock.now()
    }
  }
}

/** The breaker of a service with `breaker.enabled: false`: always admits, records nothing. */
export class NoBreaker implements Breaker {
  readonly state: BreakerState = BREAKER_CLOSED
  admit(): Admission {
    return ADMITTED
  }
  admitOrThrow(): Admission {
    return ADMITTED
  }
  record(): void {}
  on(): () => void {
    return noop
  }
  stats(): BreakerStats {
    return { state: 'closed', fires: 0, failures: 0, successes: 0, errorPercentage: 0, openedAt: 0, trialInFlight: false, rejected: 0 }
  }
  stop(): void {}
}
