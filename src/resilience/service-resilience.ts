/**
 * The resilience mechanisms of one service: its retry budget, concurrency limit and outlier
 * detection, one circuit breaker per endpoint, and the panic-mode watch on its endpoint set.
 * Built from the service's config slices; `reconfigure()` replaces only the mechanisms whose
 * slice changed (an unchanged breaker config keeps every endpoint's breaker and window).
 *
 * Mechanisms that take an endpoint out of picking write the endpoint's fields and call the
 * service's `ServiceEndpoints.refresh()`; the set is looked up each time because a reload may
 * replace it.
 */
import type { Clock } from '../clock.js'
import type { ServiceConfig } from '../config/types.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { EndpointSnapshot, ServiceEndpoints } from '../endpoint/service-endpoints.js'
import { createBreaker, NoBreaker, type Breaker } from './breaker.js'
import { ConcurrencyLimit } from './concurrency-limit.js'
import type { ResilienceEventHub } from './events.js'
import { classify, type AttemptOutcome, type Verdict } from '../pipeline/failure-classifier.js'
import { createOutlierDetection, type OutlierDetection } from './outlier-detector.js'
import { RetryBudget } from './retry-budget.js'

export interface ServiceResilienceDeps {
  readonly clock: Clock
  /** The service's endpoint set now (undefined once the service is gone). */
  readonly endpoints: () => ServiceEndpoints | undefined
  /** commy's own event loop is lagging: failures do not count against endpoints. */
  readonly isLagging: () => boolean
  readonly events: ResilienceEventHub
}

/** Which mechanisms a reconfigure replaced. */
export type Mechanism = 'breaker' | 'outlierDetection' | 'concurrency' | 'retryBudget'

const NO_BREAKER = new NoBreaker()

export class ServiceResilience {
  readonly name: string
  budget: RetryBudget
  limit: ConcurrencyLimit
  outlier: OutlierDetection
  private config: ServiceConfig
  private readonly deps: ServiceResilienceDeps
  private readonly breakers = new Map<Endpoint, Breaker>()
  private readonly ejectionCounts = new Map<Endpoint, number>()
  private watched: ServiceEndpoints | undefined
  private unwatch: (() => void) | undefined
  private stopped = false

  constructor(config: ServiceConfig, deps: ServiceResilienceDeps) {
    this.name = config.name
    this.config = config
    this.deps = deps
    this.budget = this.newBudget()
    this.limit = this.newLimit()
    this.outlier = this.newOutlier()
    this.watch()
  }

  /** The breaker of `ep` (an always-closed one for an endpoint this service does not know). */
  breaker(ep: Endpoint): Breaker {
    return this.breakers.get(ep) ?? NO_BREAKER
  }

  /** True while the service routes to every endpoint (too few healthy). */
  get panic(): boolean {
    return this.deps.endpoints()?.snapshot.panic ?? false
  }

  /** The verdict that counts against an endpoint: the classifier's, except failures while commy lags. */
  verdict(outcome: AttemptOutcome): Verdict {
    const v = classify(outcome).verdict
    return v === 'failure' && this.deps.isLagging() ? 'neutral' : v
  }

  ejections(ep: Endpoint): number {
    return this.ejectionCounts.get(ep) ?? 0
  }

  /** Endpoints with a breaker, in the order they joined. */
  endpoints(): Endpoint[] {
    return [...this.breakers.keys()]
  }

  addEndpoint(ep: Endpoint): void {
    if (this.stopped || this.breakers.has(ep)) return
    this.breakers.set(ep, this.newBreaker(ep))
    this.watch()
  }

  removeEndpoint(ep: Endpoint): void {
    this.breakers.get(ep)?.stop()
    this.breakers.delete(ep)
    this.ejectionCounts.delete(ep)
    this.outlier.forget(ep)
  }

  /**
   * New settings for this service (hot reload): mechanisms whose config slice changed are rebuilt,
   * the others keep their state. Returns what was rebuilt.
   */
  reconfigure(next: ServiceConfig): Mechanism[] {
    const prev = this.config
    this.config = next
    const changed: Mechanism[] = []
    if (!same(prev.retryBudget, next.retryBudget)) {
      this.budget = this.newBudget()
      changed.push('retryBudget')
    }
    if (!same(prev.concurrency, next.concurrency)) {
      // tries holding a slot of the old limit give it back there; its queue drains the same way
      this.limit = this.newLimit()
      changed.push('concurrency')
    }
    if (!same(prev.outlierDetection, next.outlierDetection)) {
      this.outlier.stop()
      for (const ep of this.breakers.keys()) {
        this.outlier.forget(ep)
        ep.ejectedUntil = 0
        ep.ejectionReason = ''
        ep.consecutiveFailures = 0
      }
      this.outlier = this.newOutlier()
      changed.push('outlierDetection')
    }
    if (!same(prev.breaker, next.breaker)) {
      for (const [ep, b] of this.breakers) {
        b.stop()
        this.breakers.set(ep, this.newBreaker(ep))
      }
      changed.push('breaker')
    }
    if (changed.includes('breaker') || changed.includes('outlierDetection')) this.deps.endpoints()?.refresh()
    this.watch()
    return changed
  }

  /** Stops every breaker, the outlier timers and the limit's queue. Idempotent. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    for (const b of this.breakers.values()) b.stop()
    this.outlier.stop()
    this.limit.stop()
    this.unwatch?.()
    this.unwatch = undefined
  }

  /** Follows the service's endpoint set (subscribing again when a reload replaced it) for panic flips. */
  private watch(): void {
    const set = this.deps.endpoints()
    if (set === this.watched || this.stopped) return
    this.unwatch?.()
    this.watched = set
    this.unwatch = set?.on({ snapshot: (next, prev) => this.snapshotChanged(next, prev) })
  }

  private snapshotChanged(next: EndpointSnapshot, prev: EndpointSnapshot): void {
    if (next.panic === prev.panic) return
    const now = this.deps.clock.now()
    let healthy = 0
    let serving = 0
    for (const ep of next.all) {
      const e = ep.eligibility(now)
      if (e.state !== 'draining') serving++
      if (e.eligible) healthy++
    }
    this.deps.events.emit('panic', { service: this.name, panic: next.panic, healthy, serving, threshold: this.config.panicThreshold })
  }

  private refresh = (): void => {
    this.deps.endpoints()?.refresh()
  }

  private newBreaker(ep: Endpoint): Breaker {
    const b = createBreaker(ep, this.config.breaker, { clock: this.deps.clock, changed: this.refresh })
    b.on('stateChange', (from, to, reason) =>
      this.deps.events.emit('breakerTransition', { service: this.name, endpoint: ep.address, endpointId: ep.id, from: from.kind, to: to.kind, reason }),
    )
    return b
  }

  private newBudget(): RetryBudget {
    return new RetryBudget({ ratio: this.config.retryBudget.ratio, minPerSecond: this.config.retryBudget.minPerSecond }, this.deps.clock)
  }

  private newLimit(): ConcurrencyLimit {
    const c = this.config.concurrency
    return new ConcurrencyLimit({ service: this.name, maxInFlight: c.maxInFlight, maxQueued: c.maxQueued, queueTimeoutMs: c.queueTimeoutMs }, this.deps.clock)
  }

  private newOutlier(): OutlierDetection {
    return createOutlierDetection(this.config.outlierDetection, {
      clock: this.deps.clock,
      endpoints: () => this.deps.endpoints()?.snapshot.all ?? [],
      changed: this.refresh,
      isLagging: this.deps.isLagging,
      onEject: (e) => {
        const n = (this.ejectionCounts.get(e.endpoint) ?? 0) + 1
        this.ejectionCounts.set(e.endpoint, n)
        this.deps.events.emit('ejection', {
          service: this.name,
          endpoint: e.endpoint.address,
          endpointId: e.endpoint.id,
          durationMs: e.durationMs,
          multiplier: e.multiplier,
          reason: e.reason,
          ejections: n,
        })
      },
      onReturn: (ep) => this.deps.events.emit('ejectionEnded', { service: this.name, endpoint: ep.address, endpointId: ep.id }),
    })
  }
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}
