/**
 * Event feeds from the other plugins into the metrics, each subscribed only when the plugin
 * offers it (they are wired by their owners; absent feeds leave their counters at zero):
 * - resilience `on({...})`: breaker transitions, outlier ejections, retry-budget refusals;
 * - health `on({ checked })` (or its `monitor`): active check results;
 * - gossip `counters()`: membership's counter snapshot, followed at scrape time;
 * - the endpoint registry: series of endpoints that left are dropped (bounded labels).
 * Retries are counted from the request records (request-observer.ts), not here.
 * `subscribeFeeds` returns one function that unsubscribes them all.
 */
import type { Endpoint } from '../endpoint/endpoint.js'
import type { EndpointRegistry } from '../endpoint/registry.js'
import type { BreakerState } from './view.js'
import type { GossipCounterView, Metrics } from './metrics.js'

/** What the metrics want to hear from resilience (a subset of its ResilienceEvents; endpoints as `host:port`). */
export interface ResilienceFeed {
  breakerTransition?(e: { readonly service: string; readonly endpoint: string; readonly to: BreakerState }): void
  ejection?(e: { readonly service: string; readonly endpoint: string }): void
  budgetExhausted?(e: { readonly service: string }): void
}

/** What the metrics want to hear from the active health checks. */
export interface HealthFeed {
  checked?(c: { readonly endpoint: Endpoint; readonly ok: boolean }): void
}

type Unsubscribe = () => void
interface Subscribable<L> {
  on(listener: L): Unsubscribe | void
}

function subscribable<L>(x: unknown): Subscribable<L> | undefined {
  return typeof x === 'object' && x !== null && typeof (x as { on?: unknown }).on === 'function' ? (x as Subscribable<L>) : undefined
}

export interface FeedSources {
  readonly registry: EndpointRegistry
  readonly resilience?: unknown
  readonly health?: unknown
  readonly gossip?: unknown
}

export function subscribeFeeds(metrics: Metrics, from: FeedSources): Unsubscribe {
  const offs: Unsubscribe[] = []
  const add = (off: Unsubscribe | void) => {
    if (typeof off === 'function') offs.push(off)
  }
  add(from.registry.on({ removed: (ep) => metrics.forgetEndpoint(ep.service, ep.address) }))

  const resilience = subscribable<ResilienceFeed>(from.resilience)
  if (resilience) {
    add(
      resilience.on({
        breakerTransition: (e) => metrics.breakerTransition(e.service, e.endpoint, e.to),
        ejection: (e) => metrics.ejection(e.service, e.endpoint),
        budgetExhausted: (e) => metrics.retryBudgetExhausted(e.service),
      }),
    )
  }

  const health = subscribable<HealthFeed>(from.health) ?? subscribable<HealthFeed>((from.health as { monitor?: unknown } | undefined)?.monitor)
  if (health) add(health.on({ checked: (c) => metrics.healthCheck(c.endpoint.service, c.endpoint.address, c.ok) }))

  const counters = (from.gossip as { counters?: () => GossipCounterView } | undefined)?.counters
  if (typeof counters === 'function') metrics.followGossip(() => counters.call(from.gossip))

  return () => {
    while (offs.length > 0) offs.pop()!()
  }
}
