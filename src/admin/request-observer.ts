/**
 * Feeds finished requests into the metrics: plug it into the sidecar's request observers
 * (`observers: [requestMetrics(metrics)]`). Per request: two Map lookups, no allocation once a
 * (listener, route) pair has been seen. Tries after the first count as retries of the service;
 * every try counts on its endpoint (commy_upstream_tries_total); the request goes into its
 * route's last-minute window (the admin JSON's golden signals) and body bytes.
 */
import type { RequestRecord } from '../proxy/request-record.js'
import type { Metrics, RouteMetrics } from './metrics.js'
import { requestVerdict } from './golden-window.js'

/** Label value for requests that matched no route / no service. */
export const NO_ROUTE = 'none'

export function requestMetrics(metrics: Metrics): (record: RequestRecord) => void {
  const byListener = new Map<string, Map<string, RouteMetrics>>()
  return (r) => {
    let routes = byListener.get(r.listener)
    if (!routes) byListener.set(r.listener, (routes = new Map<string, RouteMetrics>()))
    const route = r.route ?? NO_ROUTE
    const service = r.service ?? NO_ROUTE
    let m = routes.get(route)
    if (!m || m.service !== service || m.retired) routes.set(route, (m = metrics.route(r.listener, route, service)))
    m.done(r.endpoint, r.status, r.durationMs / 1000)
    m.traffic(r.bytesIn, r.bytesOut)
    m.window.record(r.endedAt ?? metrics.now(), requestVerdict(r.status, r.code), r.durationMs)
    if (r.tries.length > 0) m.tries.record(r.tries)
    if (r.attempts > 1) metrics.retry(service, r.attempts - 1)
    if (r.grpcStatus !== undefined) metrics.grpcResponse(service, r.grpcStatus)
  }
}
