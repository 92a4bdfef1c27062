/**
 * The resilience plugin: wires breakers, outlier detection, retry budgets, concurrency limits
 * and the event-loop lag monitor into the data plane.
 *
 * - Per service a ServiceResilience (budget, limit, outlier detection, panic watch); per endpoint
 *   a breaker, created when the registry adds the endpoint and stopped when it leaves.
 * - Per-try layers, outermost first: concurrency limit -> budget request count -> breaker ->
 *   outlier record (then the data plane's endpoint stats and the transport).
 * - The retry decider: retry policy + budget. The endpoint-stats options: latency is not observed
 *   while commy lags, consecutive failures are counted by outlier detection.
 * - Events (`on()`), logged once per transition by `resilienceLog`; read accessors for the admin API.
 */
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { SidecarConfig } from '../config/types.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { DataPlaneView, Plugin, PluginDeps } from './plugin.js'
import type { EndpointStatsOptions } from '../pipeline/endpoint-stats.js'
import type { ExplainFacts } from '../proxy/explain.js'
import type { Layer } from '../pipeline/pipeline.js'
import type { RetryDecider } from '../pipeline/retry-rules.js'
import { breakerLayer } from '../resilience/breaker-layer.js'
import type { BreakerStats } from '../resilience/breaker.js'
import type { ConcurrencyStats } from '../resilience/concurrency-limit.js'
import { resilienceLog } from '../resilience/event-log.js'
import { ResilienceEventHub, type ResilienceEvents } from '../resilience/events.js'
import { FAILURE_CLASSIFIER_TABLE, type Verdict } from '../pipeline/failure-classifier.js'
import { limitLayer } from '../resilience/limit-layer.js'
import { LoopLagMonitor } from '../resilience/loop-lag.js'
import { outlierLayer } from '../resilience/outlier-layer.js'
import { budgetedRetryDecider, budgetLayer } from '../resilience/retry-decider.js'
import type { RetryBudgetStats } from '../resilience/retry-budget.js'
import { ServiceResilience } from '../resilience/service-resilience.js'

/** One endpoint's resilience state (admin API). */
export interface EndpointResilienceView {
  readonly id: string
  readonly service: string
  readonly address: string
  readonly breaker: BreakerStats
  readonly consecutiveFailures: number
  readonly ejected: boolean
  /** Time left in the current ejection (0 when not ejected). */
  readonly ejectedForMs: number
  readonly ejectionReason: string
  /** Ejections since commy started. */
  readonly ejections: number
  /** Multiplier the next ejection starts from (decays while the endpoint serves well). */
  readonly ejectionMultiplier: number
}

/** One service's resilience state (admin API). */
export interface ServiceResilienceView {
  readonly service: string
  readonly panic: boolean
  readonly panicThreshold: number
  readonly retryBudget: RetryBudgetStats & { readonly ratio: number; readonly minPerSecond: number }
  readonly concurrency: ConcurrencyStats & { readonly maxInFlight: number; readonly maxQueued: number }
  readonly ejections: number
  readonly endpoints: readonly EndpointResilienceView[]
}

/** A row of the failure classifier, as shown in the docs and the admin API. */
export interface ClassifierRowView {
  readonly outcome: string
  readonly verdict: Verdict
  readonly reason: string
  readonly why: string
}

export interface ResilienceView {
  readonly loop: { readonly lagging: boolean; readonly delayMs: number; readonly thresholdMs: number }
  readonly services: readonly ServiceResilienceView[]
  readonly classifier: readonly ClassifierRowView[]
}

export interface ResiliencePlugin extends Plugin {
  readonly retryDecider: RetryDecider
  /** For the Sidecar's endpoint-stats layer. */
  readonly endpointStats: EndpointStatsOptions
  /** Adds the retry budget left to `explain` answers. */
  readonly explainFacts: ExplainFacts
  /** Subscribes to breaker transitions, ejections, panic flips, retries, refused retries, lag flips. */
  on(events: ResilienceEvents): () => void
  /** commy's own event loop is lagging now. */
  isLagging(): boolean
  /** Breaker state of an endpoint ('closed' for one without a breaker). */
  breakerOf(ep: Endpoint): BreakerStats | undefined
  /** Retry budget of a service. */
  budget(service: string): RetryBudgetStats | undefined
  /** Concurrency limit of a service. */
  concurrency(service: string): ConcurrencyStats | undefined
  /** Everything, for the admin API (one service, or all). */
  view(service?: string): ResilienceView
  /** The failure classifier's table. */
  classifier(): readonly ClassifierRowView[]
}

export function createResiliencePlugin(deps: PluginDeps): ResiliencePlugin {
  return new Resilience(deps)
}

const CLASSIFIER: readonly ClassifierRowView[] = Object.freeze(
  FAILURE_CLASSIFIER_TABLE.map((r) => Object.freeze({ outcome: r.outcome, verdict: r.verdict, reason: r.reason, why: r.why })),
)

class Resilience implements ResiliencePlugin {
  readonly layers: readonly Layer[]
  readonly retryDecider: RetryDecider
  readonly endpointStats: EndpointStatsOptions
  readonly explainFacts: ExplainFacts
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly events = new ResilienceEventHub()
  private readonly services = new Map<string, ServiceResilience>()
  private config: SidecarConfig
  private readonly currentConfig: () => SidecarConfig
  private dataPlane: DataPlaneView | undefined
  private lag: LoopLagMonitor
  private lagThresholdMs = 0
  private started = false
  private unsubscribe: (() => void) | undefined

  constructor(deps: PluginDeps) {
    this.clock = deps.clock
    this.logger = deps.logger
    this.config = deps.config
    this.currentConfig = deps.currentConfig
    this.lag = this.newLagMonitor()
    this.events.on(resilienceLog(deps.logger, () => deps.clock.now()))
    const lookup = (name: string) => this.services.get(name)
    this.layers = [limitLayer(lookup), budgetLayer(lookup), breakerLayer(lookup), outlierLayer(lookup)]
    this.retryDecider = budgetedRetryDecider(lookup, this.events)
    this.endpointStats = Object.freeze({ isLagging: this.isLagging, consecutiveFailures: false })
    this.explainFacts = (service) => {
      const s = this.services.get(service)
      if (s === undefined) return undefined
      const b = s.budget.stats()
      return { retryBudget: { left: b.available, requests: b.requests, retries: b.retries }, ...(this.isLagging() ? { loopLagging: true } : {}) }
    }
  }

  readonly isLagging = (): boolean => this.lag.isLagging()

  on(events: ResilienceEvents): () => void {
    return this.events.on(events)
  }

  attach(dataPlane: DataPlaneView): void {
    this.dataPlane = dataPlane
    const registry = dataPlane.endpoints
    this.unsubscribe = registry.on({
      added: (ep) => this.ensure(ep.service)?.addEndpoint(ep),
      removed: (ep) => this.services.get(ep.service)?.removeEndpoint(ep),
    })
    // endpoints the registry already holds
    for (const set of registry.services()) {
      const s = this.ensure(set.name)
      for (const ep of set.snapshot.all) s?.addEndpoint(ep)
    }
  }

  reload(config: SidecarConfig): void {
    this.config = config
    for (const [name, s] of this.services) {
      const cfg = config.services[name]
      if (cfg === undefined) {
        s.stop()
        this.services.delete(name)
        this.logger.info({ service: name }, 'service removed: its breakers, budget, limit and outlier detection stopped')
        continue
      }
      const rebuilt = s.reconfigure(cfg)
      if (rebuilt.length > 0) this.logger.info({ service: name, rebuilt }, 'service resilience reconfigured')
    }
    for (const name of Object.keys(config.services)) this.ensure(name)
    if (config.health.eventLoopLagThresholdMs !== this.lagThresholdMs) {
      this.lag.stop()
      this.lag = this.newLagMonitor()
      if (this.started) this.lag.start()
    }
  }

  start(): void {
    if (this.started) return
    this.started = true
    this.lag.start()
    for (const s of this.services.values()) s.outlier.start()
  }

  /** Stops the lag monitor, every breaker, outlier timer and limit queue. Idempotent. */
  stop(): void {
    this.lag.stop()
    this.unsubscribe?.()
    this.unsubscribe = undefined
    for (const s of this.services.values()) s.stop()
  }

  breakerOf(ep: Endpoint): BreakerStats | undefined {
    return this.services.get(ep.service)?.breaker(ep).stats()
  }

  budget(service: string): RetryBudgetStats | undefined {
    return this.services.get(service)?.budget.stats()
  }

  concurrency(service: string): ConcurrencyStats | undefined {
    return this.services.get(service)?.limit.stats()
  }

  classifier(): readonly ClassifierRowView[] {
    return CLASSIFIER
  }

  view(service?: string): ResilienceView {
    const now = this.clock.now()
    const services: ServiceResilienceView[] = []
    for (const s of this.services.values()) {
      if (service !== undefined && s.name !== service) continue
      const cfg = this.config.services[s.name]
      if (cfg === undefined) continue
      let ejections = 0
      const endpoints = s.endpoints().map((ep): EndpointResilienceView => {
        const n = s.ejections(ep)
        ejections += n
        const left = Math.max(0, ep.ejectedUntil - now)
        return {
          id: ep.id,
          service: s.name,
          address: ep.address,
          breaker: s.breaker(ep).stats(),
          consecutiveFailures: ep.consecutiveFailures,
          ejected: left > 0,
          ejectedForMs: Math.round(left),
          ejectionReason: left > 0 ? ep.ejectionReason : '',
          ejections: n,
          ejectionMultiplier: s.outlier.multiplier(ep),
        }
      })
      services.push({
        service: s.name,
        panic: s.panic,
        panicThreshold: cfg.panicThreshold,
        retryBudget: { ...s.budget.stats(), ratio: cfg.retryBudget.ratio, minPerSecond: cfg.retryBudget.minPerSecond },
        concurrency: { ...s.limit.stats(), maxInFlight: cfg.concurrency.maxInFlight, maxQueued: cfg.concurrency.maxQueued },
        ejections,
        endpoints,
      })
    }
    return { loop: { lagging: this.isLagging(), delayMs: this.lag.delayMs, thresholdMs: this.lagThresholdMs }, services, classifier: CLASSIFIER }
  }

  /** The service's mechanisms, created on first use from the active config (undefined: not configured). */
  private ensure(name: string): ServiceResilience | undefined {
    let s = this.services.get(name)
    if (s !== undefined) return s
    // during a reload the data plane's config is already the new one, ours not yet
    const cfg = this.currentConfig().services[name]
    if (cfg === undefined) return undefined
    s = new ServiceResilience(cfg, {
      clock: this.clock,
      endpoints: () => this.dataPlane?.endpoints.service(name),
      isLagging: this.isLagging,
      events: this.events,
    })
    this.services.set(name, s)
    if (this.started) s.outlier.start()
    return s
  }

  private newLagMonitor(): LoopLagMonitor {
    const thresholdMs = (this.lagThresholdMs = this.config.health.eventLoopLagThresholdMs)
    return new LoopLagMonitor({
      thresholdMs,
      clock: this.clock,
      onChange: (lagging, delayMs) => this.events.emit('lag', { lagging, delayMs, thresholdMs }),
    })
  }
}
