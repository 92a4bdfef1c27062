/**
 * The health plugin: issue #4's mechanisms wired into a running sidecar.
 *
 * - `health`: the ActiveMonitor, the sidecar's HealthSource (the sidecar starts and stops it with
 *   its endpoints); the checks of each service are read from the active config at every check.
 * - `layers`: the history layer (every try's outcome and latency, per endpoint).
 * - `history`: the History, fed by that layer, by every check result and by every state change.
 * - the EndpointStateTracker follows every ServiceEndpoints of the registry (and the services a
 *   reload adds) and is swept every second, so ejection expiry and panic changes are recorded too.
 * - `alerts`: the AlertEvaluator (every 5 s) over the registry and the history; fired and resolved
 *   alerts go to `webhooks` (never blocking) and to `on({ alert })` listeners.
 * - `local`: the health of this node's own services (config.local.services), which gossip publishes;
 *   their checks and transitions go to the history and to `on({ checked, transition })` as any endpoint's.
 * - `breakerTransition()`: records a breaker state change (`breaker closed` -> `breaker open`).
 *
 * reload(config): alert rules and webhooks replaced, local services followed, checks of newly
 * checked services started, new services observed. History settings need a restart.
 */
import type { Clock } from '../clock.js'
import type { BreakerKind, Endpoint } from '../endpoint/endpoint.js'
import type { ServiceEndpoints } from '../endpoint/service-endpoints.js'
import type { DataPlaneView, Plugin, PluginDeps } from './plugin.js'
import { ActiveMonitor } from '../health/active-monitor.js'
import { AlertEvaluator } from '../health/alerts.js'
import type { HealthEvents } from '../health/events.js'
import { EventHub } from '../listeners.js'
import type { HealthSource } from '../health/health-source.js'
import { History, historyOptions, serviceOfId, type ServiceSummary } from '../health/history.js'
import { historyLayer } from '../health/history-layer.js'
import { LocalServiceHealth } from '../health/local-services.js'
import { EndpointStateTracker } from '../health/state-tracker.js'
import { Ticker } from '../ticker.js'
import { WebhookNotifier } from '../health/webhook.js'

export type { EndpointTransition, HealthEvents } from '../health/events.js'

/** A breaker state change, as the resilience plugin tells it (`on({ breakerTransition })`). */
export interface BreakerTransitionEvent {
  /** Endpoint id (`service~host:port`). */
  readonly endpointId: string
  readonly from: BreakerKind
  readonly to: BreakerKind
  readonly reason: string
}

/** What the plugin hears from the resilience plugin. */
export interface ResilienceFeed {
  breakerTransition?(e: BreakerTransitionEvent): void
  ejectionEnded?(e: { readonly endpointId: string }): void
}

export interface HealthPluginDeps extends PluginDeps {
  /**
   * Breaker transitions go into the history and the end of an ejection is recorded at once
   * (the resilience plugin's `on()`; absent without one).
   */
  readonly resilience?: { on(listener: ResilienceFeed): () => void }
  /** How often alert rules are evaluated (default 5 s). */
  readonly alertIntervalMs?: number
  /** How often endpoint states are re-read for the history (default 1 s). */
  readonly sweepIntervalMs?: number
}

export interface HealthPlugin extends Plugin {
  /** The active monitor as the sidecar's HealthSource. */
  readonly health: HealthSource
  readonly monitor: ActiveMonitor
  /** Per-endpoint history: endpointHistory(id, since?), serviceSummary(service, endpoints?), rates(id), windowStats(). */
  readonly history: History
  /** recent() (newest first, at most alerts.keep) and firing(). */
  readonly alerts: AlertEvaluator
  readonly webhooks: WebhookNotifier
  /** This node's own services: statuses(), status(name), onChange(listener). */
  readonly local: LocalServiceHealth
  /** Transitions, check results and alerts as they happen; returns an unsubscribe. */
  on(listener: HealthEvents): () => void
  /** A service's endpoints (current state from the registry) with the last minute's numbers. */
  summary(service: string): ServiceSummary | undefined
  /** Records a circuit-breaker state change in the endpoint's history. */
  breakerTransition(e: BreakerTransitionEvent): void
}

export function createHealthPlugin(deps: HealthPluginDeps): HealthPlugin {
  const { clock, random, logger } = deps
  let config = deps.config
  let dataPlane: DataPlaneView | undefined
  const services = () => deps.currentConfig().services
  const listeners = new EventHub<HealthEvents>((err, event) => logger.error({ err, event }, 'health event listener failed'))

  const monitor = new ActiveMonitor({ configFor: (ep) => services()[ep.service]?.healthCheck, clock, random, logger })
  const history = new History(historyOptions(config.health, clock, config.alerts))
  monitor.on({
    checked: (c) => {
      history.recordCheck(c.endpoint, c.ok, c.at)
      listeners.emit('checked', c)
    },
  })

  const record = (ep: Endpoint | string, from: string, to: string, reason: string, now: number) => {
    const id = typeof ep === 'string' ? ep : ep.id
    history.transition(ep, from, to, reason, now)
    listeners.emit('transition', { endpoint: id, service: serviceOfId(id), from, to, reason, at: wallOf(clock, now) })
    logger.debug({ endpoint: id, from, to, reason }, 'endpoint state changed')
  }
  const tracker = new EndpointStateTracker(record, () => clock.now())
  const observed = new Map<ServiceEndpoints, () => void>()
  const follow = () => {
    if (!dataPlane) return
    const now = new Set(dataPlane.endpoints.services())
    for (const [s, off] of observed) {
      if (now.has(s)) continue
      off()
      observed.delete(s)
    }
    for (const s of now) if (!observed.has(s)) observed.set(s, tracker.observe(s))
  }
  // a change of active health that leaves the eligible set alone (panic mode) is recorded at once too
  monitor.on({ transition: () => tracker.sweep() })
  const onError = (what: string) => (err: unknown) => logger.error({ err }, `${what} failed`)
  const sweeper = new Ticker({ clock, interval: deps.sweepIntervalMs ?? 1_000, run: () => tracker.sweep(), onError: onError('endpoint state sweep') })

  const webhooks = new WebhookNotifier({ webhooks: config.alerts.webhooks, clock, random, logger })
  const alerts = new AlertEvaluator({
    config: config.alerts,
    node: config.node.name,
    history,
    clock,
    logger,
    intervalMs: deps.alertIntervalMs,
    certificates: () => dataPlane?.tls?.certificates() ?? [],
    targets: { services: () => (dataPlane ? dataPlane.endpoints.services().map((s) => ({ name: s.name, endpoints: s.snapshot.all })) : []) },
    notify: (a) => {
      webhooks.notify(a)
      listeners.emit('alert', a)
    },
  })
  const local = new LocalServiceHealth(config.local.services, { clock, random, logger })
  // this node's own services are counted and kept in history like any other endpoint
  local.on({
    checked: (c) => {
      history.recordCheck(c.endpoint, c.ok, c.at)
      listeners.emit('checked', c)
    },
    transition: (t) => record(t.endpoint, t.from, t.to, t.reason, t.at),
  })
  const breakerTransition = (e: BreakerTransitionEvent) => {
    record(e.endpointId, `breaker ${e.from}`, `breaker ${e.to}`, e.reason, clock.now())
    tracker.sweep()
  }
  let offResilience: (() => void) | undefined

  return {
    health: monitor,
    monitor,
    history,
    alerts,
    webhooks,
    local,
    layers: [historyLayer(history, clock)],
    on: (listener) => listeners.on(listener),
    summary(service) {
      const s = dataPlane?.endpoints.service(service)
      return s ? history.serviceSummary(service, s.snapshot.all) : undefined
    },
    breakerTransition,
    attach(view) {
      dataPlane = view
      follow()
    },
    reload(next) {
      const prev = config
      config = next
      if (next.health.historyBucketMs !== prev.health.historyBucketMs || next.health.historyRetentionMs !== prev.health.historyRetentionMs) {
        logger.warn({ bucketMs: history.bucketMs }, 'health.history changes apply after a restart')
      }
      follow()
      monitor.reconfigure()
      alerts.reconfigure(next.alerts)
      webhooks.reconfigure(next.alerts.webhooks)
      local.reconfigure(next.local.services)
    },
    start() {
      offResilience ??= deps.resilience?.on({ breakerTransition, ejectionEnded: () => tracker.sweep() })
      local.start()
      webhooks.start()
      alerts.start()
      sweeper.start()
    },
    async stop() {
      offResilience?.()
      offResilience = undefined
      sweeper.stop()
      alerts.stop()
      for (const off of observed.values()) off()
      observed.clear()
      await Promise.all([webhooks.stop(), local.stop(), monitor.stop()])
    },
  }
}

/** Clock ms -> wall ms (the history's time base for readers). */
function wallOf(clock: Clock, now: number): number {
  return Math.round(now + clock.wallNow() - clock.now())
}
