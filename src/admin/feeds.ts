/**
 * Event feeds from the other plugins into the metrics:
 * - resilience `on({...})`: breaker transitions, outlier ejections, retry-budget refusals;
 * - health `on({ checked })`: active check results;
 * - gossip `counters()` (when gossip is on): membership's counter snapshot, followed at scrape time;
 * - the endpoint registry: series of endpoints that left are dropped (bounded labels);
 * - the data plane's overload counters (refused connections, dropped access lines, descriptor
 *   exhaustion) and connection counters (downstream per listener, upstream per endpoint),
 *   followed at scrape time.
 * Retries are counted from the request records (request-observer.ts), not here.
 * `subscribeFeeds` returns one function that unsubscribes them all.
 */
import type { EndpointsView } from '../discovery/registry.js'
import type { GossipPlugin } from '../plugins/gossip.js'
import type { HealthPlugin } from '../plugins/health.js'
import type { ResiliencePlugin } from '../plugins/resilience.js'
import type { OverloadCounters } from '../proxy/overload.js'
import type { ConnectionCounters } from '../proxy/connection-counts.js'
import type { Metrics, TraceSpanCounts } from './metrics.js'

type Unsubscribe = () => void

export interface FeedSources {
  readonly registry: EndpointsView
  readonly resilience: Pick<ResiliencePlugin, 'on'>
  readonly health: Pick<HealthPlugin, 'on'>
  readonly gossip?: Pick<GossipPlugin, 'counters'>
  readonly overload?: () => OverloadCounters
  /** Mesh endpoints refused for their identity, per service (transport). */
  readonly identityMismatches?: () => ReadonlyMap<string, number>
  /** Client connections per listener, upstream connections per endpoint (data plane). */
  readonly connections?: () => ConnectionCounters
  /** The tracer's span counts (tracing on). */
  readonly traceSpans?: () => TraceSpanCounts
}

export function subscribeFeeds(metrics: Metrics, from: FeedSources): Unsubscribe {
  const offs: Unsubscribe[] = [from.registry.on({ removed: (ep) => metrics.forgetEndpoint(ep.service, ep.address) })]

  offs.push(
    from.resilience.on({
      breakerTransition: (e) => metrics.breakerTransition(e.service, e.endpoint, e.to),
      ejection: (e) => metrics.ejection(e.service, e.endpoint),
      budgetExhausted: (e) => metrics.retryBudgetExhausted(e.service),
    }),
  )
  offs.push(from.health.on({ checked: (c) => metrics.healthCheck(c.endpoint.service, c.endpoint.address, c.ok) }))
  const gossip = from.gossip
  if (gossip) metrics.followGossip(() => gossip.counters())
  if (from.overload) metrics.followOverload(from.overload)
  if (from.identityMismatches) metrics.followIdentityMismatches(from.identityMismatches)
  if (from.connections) metrics.followConnections(from.connections)
  if (from.traceSpans) metrics.followTraceSpans(from.traceSpans)

  return () => {
    while (offs.length > 0) offs.pop()!()
  }
}
