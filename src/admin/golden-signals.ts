/**
 * The golden signals of the admin JSON, over a sliding last minute (golden-window.ts):
 * - a route: its own window of client requests (`/v1/routes`);
 * - a service: the windows of every outbound route to it merged — what callers got, after
 *   retries (`successRate`, Linkerd's "effective") — and `trySuccessRate` over every try to its
 *   endpoints ("actual");
 * - an endpoint: its tries, from the health history's window (the same tries and the same
 *   failure classifier as the breaker, outlier detection and alerts), so an endpoint failing 9
 *   tries of 10 shows it even when every client request succeeded.
 * Reads only; cost per read is O(slots × histogram bins) per window merged.
 */
import type { ListenerConfig, RouteMatchConfig, SidecarConfig } from '../config/types.js'
import { INBOUND_LISTENER } from '../proxy/inbound.js'
import { formatHost } from '../proxy/listener.js'
import { NO_SIGNALS, WindowSum, signalsOf, type GoldenSignals } from './golden-window.js'
import type { RouteKey, RouteMetrics } from './request-metrics.js'

export type { GoldenSignals }

/** A service's signals: `successRate` over client requests, `trySuccessRate` over tries. */
export interface ServiceSignals extends GoldenSignals {
  readonly trySuccessRate: number | null
  /** gRPC calls since start by final grpc-status name (services that had gRPC calls only). */
  readonly grpcStatus?: Readonly<Record<string, number>>
}

/** The window statistics of the health history this reads (History.windowStats). */
export interface TryWindows {
  windowStats(
    ids: Iterable<string>,
    windowMs: number,
  ): { readonly requests: number; readonly errors: number; readonly rps: number; readonly p50: number | null; readonly p99: number | null }
}

/** What the golden signals are read from: the metrics' route recorders and the clock they use. */
export interface RouteRecorders {
  routeMetrics(): Iterable<RouteMetrics>
  grpcStatuses?(service: string): Readonly<Record<string, number>> | undefined
  route(listener: string, route: string, service: string): RouteMetrics
  now(): number
}

export interface RouteView {
  readonly name: string
  readonly match: { readonly host: string | null; readonly pathPrefix: string | null; readonly headers: Readonly<Record<string, string>> }
  readonly service: string
  /** Requests since the sidecar started. */
  readonly requests: number
  readonly successRate: number | null
  readonly rps: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
}

export interface ListenerRoutesView {
  readonly name: string
  /** `host:port` as configured (port 0: chosen at start). */
  readonly listen: string
  readonly routes: readonly RouteView[]
}

export interface RoutesView {
  readonly listeners: readonly ListenerRoutesView[]
}

export interface GoldenReader {
  endpoint(id: string): GoldenSignals
  service(name: string, endpointIds: readonly string[]): ServiceSignals
  routes(config: SidecarConfig): RoutesView
}

const WINDOW_MS = 60_000
const NO_MATCH: RouteMatchConfig = Object.freeze({ host: undefined, pathPrefix: undefined, headers: Object.freeze([]) })

export function goldenReader(recorders: RouteRecorders, tries: TryWindows | undefined): GoldenReader {
  const sum = new WindowSum()
  return {
    endpoint(id) {
      return tries ? signalsOf(tries.windowStats([id], WINDOW_MS)) : NO_SIGNALS
    },
    service(name, endpointIds) {
      const now = recorders.now()
      sum.reset()
      for (const r of recorders.routeMetrics()) if (r.service === name && r.listener !== INBOUND_LISTENER) r.window.addTo(sum, now)
      const t = tries && endpointIds.length > 0 ? signalsOf(tries.windowStats(endpointIds, WINDOW_MS)) : NO_SIGNALS
      const grpc = recorders.grpcStatuses?.(name)
      return grpc === undefined ? { ...sum.signals(), trySuccessRate: t.successRate } : { ...sum.signals(), trySuccessRate: t.successRate, grpcStatus: grpc }
    },
    routes(config) {
      const now = recorders.now()
      const listeners = config.listeners.map((l) => listenerRoutes(l, recorders, sum, now))
      // listeners not in `listeners` (the mTLS inbound) appear once they have seen requests
      const configured = new Set(config.listeners.map((l) => l.name))
      const others = new Map<string, RouteView[]>()
      for (const r of recorders.routeMetrics()) {
        if (r.listener !== INBOUND_LISTENER || configured.has(r.listener)) continue
        let list = others.get(r.listener)
        if (!list) others.set(r.listener, (list = []))
        // matched on the TLS server name (proxy/inbound.ts), not on a configured match
        list.push(routeView(r.route, NO_MATCH, r, sum, now))
      }
      for (const [name, routes] of others) {
        const listen = config.inbound ? `${formatHost(config.inbound.listen.host)}:${config.inbound.listen.port}` : ''
        listeners.push({ name, listen, routes })
      }
      return { listeners }
    },
  }
}

/** The routes a config declares, for the metrics (their series exist from 0). */
export function declaredRoutes(config: SidecarConfig): RouteKey[] {
  return config.listeners.flatMap((l) => l.routes.map((r) => ({ listener: l.name, route: r.name, service: r.service })))
}

function listenerRoutes(l: ListenerConfig, recorders: RouteRecorders, sum: WindowSum, now: number): ListenerRoutesView {
  return {
    name: l.name,
    listen: `${formatHost(l.listen.host)}:${l.listen.port}`,
    routes: l.routes.map((r) => routeView(r.name, r.match, recorders.route(l.name, r.name, r.service), sum, now)),
  }
}

function routeView(name: string, match: RouteMatchConfig, m: RouteMetrics, sum: WindowSum, now: number): RouteView {
  sum.reset()
  m.window.addTo(sum, now)
  return {
    name,
    match: { host: match.host ?? null, pathPrefix: match.pathPrefix ?? null, headers: Object.fromEntries(match.headers) },
    service: m.service,
    requests: m.count,
    ...sum.signals(),
  }
}
