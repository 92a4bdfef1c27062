/**
 * Every Prometheus metric commy exports, declared in one place, in one Registry per sidecar
 * (never prom-client's global one). Three kinds of recording:
 * - per request: `route(listener, route, service)` once, then `RouteMetrics.done()` per request
 *   (plain typed arrays, rendered at scrape time; see request-metrics.ts);
 * - per event (retries, breaker transitions, ejections, checks, gossip, reloads): small methods;
 * - state mirrors (breaker state, endpoints by state, members by state, in-flight, info): filled
 *   at scrape time from the `MetricsStateSource`, so nothing has to keep them in sync.
 * Label values are bounded: listener/route/service come from the config, endpoints per route are
 * capped (`maxEndpointsPerRoute`, overflow counted as "_other"), gossip message types are capped,
 * and `forgetEndpoint()` drops the series of an endpoint that left.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { BreakerKind } from '../endpoint/endpoint.js'
import { DROP_REASONS, type DropKind, type DropReason } from '../membership/counters.js'
import { Listeners } from '../listeners.js'
import type { AdminSource, CertificateView, EndpointView, MemberView, NodeView } from './view.js'
import type { OverloadCounters } from '../proxy/overload.js'
import { EXHAUSTION_OPS } from '../proxy/descriptors.js'
import { BREAKER_STATES, ENDPOINT_STATES, MEMBER_STATES } from './view.js'
import { DEFAULT_DURATION_BUCKETS, RouteMetrics, bytesCollector, durationCollector, requestsCollector, type RouteKey } from './request-metrics.js'
import { ServiceTries, triesCollector } from './golden-tries.js'
import { ConnectionMetrics } from './golden-metrics.js'
import type { ConnectionCounters } from '../proxy/connection-counts.js'
import { systemClock, type Clock } from '../clock.js'
import { grpcStatusName } from '../pipeline/grpc-status.js'

export { RouteMetrics, type RouteKey } from './request-metrics.js'

/** The tracer's span counts since start (tracing/span-queue.ts `SpanCounts`). */
export interface TraceSpanCounts {
  readonly exported: number
  /** The export queue was full. */
  readonly dropped: number
  /** In exports that failed. */
  readonly failed: number
}

/** What the scrape-time gauges read. An AdminSource satisfies it. */
export type MetricsStateSource = Pick<AdminSource, 'node' | 'endpoints' | 'members' | 'certificates'>

export interface MetricsOptions {
  readonly source?: MetricsStateSource
  /** Node's process metrics (CPU, memory, event loop lag, GC) without prefix. Default true. */
  readonly defaultMetrics?: boolean
  /** Upper bounds in seconds for commy_request_duration_seconds. */
  readonly durationBuckets?: readonly number[]
  /** Distinct endpoint label values per route before the rest count as "_other". Default 512. */
  readonly maxEndpointsPerRoute?: number
  /** Time of the request windows (now) and of the reload timestamp (wallNow). Default: the system clock. */
  readonly clock?: Clock
}

export type Direction = 'in' | 'out'

/** The part of membership's CounterSnapshot the gossip metrics follow. */
export interface GossipCounterView {
  readonly messagesIn: Readonly<Record<string, number>>
  readonly messagesOut: Readonly<Record<string, number>>
  readonly bytesIn: number
  readonly bytesOut: number
  readonly drops: { readonly auth: number }
  /** Drops by kind and reason (commy_gossip_dropped_total). */
  readonly dropped?: Readonly<Record<DropKind, Readonly<Partial<Record<DropReason, number>>>>>
}

/** The runtime controls of the admin API, as `commy_admin_actions_total{action}` counts them (all exported at 0). */
export const ADMIN_ACTIONS = Object.freeze(['log-level', 'drain', 'undrain', 'maintenance_on', 'maintenance_off'] as const)
export type AdminActionName = (typeof ADMIN_ACTIONS)[number]

const BREAKER_VALUE: Readonly<Record<BreakerKind, number>> = { closed: 0, 'half-open': 1, open: 2 }
const MAX_GOSSIP_TYPES = 32

interface ScrapeState {
  readonly node: NodeView | undefined
  readonly endpoints: readonly EndpointView[]
  readonly members: readonly MemberView[]
  readonly certificates: readonly CertificateView[]
}

export class Metrics {
  readonly registry: Registry
  private source: MetricsStateSource | undefined
  private readonly bounds: readonly number[]
  private readonly maxEndpoints: number
  private readonly routes = new Map<string, RouteMetrics>()
  /** Try counters per service, shared by the routes to it. */
  private readonly tries = new Map<string, ServiceTries>()
  private readonly connections = new ConnectionMetrics()
  private readonly clock: Clock
  private readonly gossipTypes = new Set<string>()
  /** Endpoints (service~address) and services whose event counters exist from 0 already. */
  private readonly zeroed = new Set<string>()
  private scrape: ScrapeState | undefined
  /** Read at every scrape; one that throws (a source that cannot be read) leaves its counters where they were. */
  private readonly beforeScrape = new Listeners<[]>()

  private readonly retries: Counter<'service'>
  private readonly budgetExhausted: Counter<'service'>
  private readonly breakerTransitions: Counter<'service' | 'endpoint' | 'to'>
  private readonly ejections: Counter<'service' | 'endpoint'>
  private readonly healthChecks: Counter<'service' | 'endpoint' | 'result'>
  private readonly gossipMessages: Counter<'direction' | 'type'>
  private readonly gossipBytesTotal: Counter<'direction'>
  private readonly gossipAuthFailures: Counter
  private readonly gossipDropped: Counter<'kind' | 'reason'>
  private readonly configReloads: Counter<'result'>
  private readonly adminActions: Counter<'action'>
  private readonly connectionsRefused: Counter<'listener' | 'reason'>
  private readonly accessLogDropped: Counter
  private readonly descriptorExhaustion: Counter<'op'>
  private readonly identityMismatches: Counter<'service'>
  private readonly inboundRequests: Counter<'service' | 'caller' | 'decision'>
  private readonly lastReloadSuccess: Gauge
  private readonly lastReloadSuccessTime: Gauge
  private readonly traceSpansExported: Counter
  private readonly traceSpansDropped: Counter<'reason'>
  private readonly grpcResponses: Counter<'service' | 'grpc_status'>
  /** Per service, the counter child of each gRPC status (0-16; others share one): no label hashing per call. */
  private readonly grpcChildren = new Map<string, { inc(): void }[]>()
  /** The same counts as plain numbers, for the admin JSON (prom-client's are read asynchronously). */
  private readonly grpcCounts = new Map<string, number[]>()

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry()
    this.source = options.source
    this.bounds = options.durationBuckets ?? DEFAULT_DURATION_BUCKETS
    this.maxEndpoints = options.maxEndpointsPerRoute ?? 512
    this.clock = options.clock ?? systemClock
    const registers = [this.registry]
    const routes = () => this.routes.values()
    const known = () => this.state().endpoints

    // ---- requests (hot path, rendered at scrape time) ----
    this.registry.registerMetric(
      requestsCollector('commy_requests_total', 'Requests answered, by listener, route, service, last endpoint tried and status class.', routes, () => endpointsByService(known())) as never,
    )
    this.registry.registerMetric(
      durationCollector('commy_request_duration_seconds', 'Request duration from first byte in to last byte out, in seconds, by status class (1xx..5xx, error).', this.bounds, routes) as never,
    )
    // ---- golden metrics (golden-tries.ts, golden-metrics.ts) ----
    this.registry.registerMetric(
      triesCollector(
        'commy_upstream_tries_total',
        'Tries sent to an endpoint (retries and upgrades included), by outcome: the status class it answered with (1xx..5xx) or the COMMY_ERR_* code the try ended on.',
        () => this.tries.values(),
        known,
      ) as never,
    )
    this.registry.registerMetric(bytesCollector('commy_request_bytes_total', 'Request body bytes sent upstream (client to endpoint), per route.', 'in', routes) as never)
    this.registry.registerMetric(bytesCollector('commy_response_bytes_total', 'Response body bytes sent to clients (endpoint to client), per route.', 'out', routes) as never)
    for (const c of this.connections.collectors(known)) this.registry.registerMetric(c as never)

    // ---- events ----
    this.retries = new Counter({ name: 'commy_retries_total', help: 'Retries sent (tries after the first).', labelNames: ['service'], registers })
    this.grpcResponses = new Counter({
      name: 'commy_grpc_responses_total',
      help: 'gRPC calls answered, by service and the grpc-status the client got (0-16; "other" for any other number).',
      labelNames: ['service', 'grpc_status'],
      registers,
    })
    this.budgetExhausted = new Counter({
      name: 'commy_retry_budget_exhausted_total',
      help: 'Retries not sent because the retry budget was spent.',
      labelNames: ['service'],
      registers,
    })
    this.breakerTransitions = new Counter({
      name: 'commy_breaker_transitions_total',
      help: 'Circuit breaker state changes, by the state entered.',
      labelNames: ['service', 'endpoint', 'to'],
      registers,
    })
    this.ejections = new Counter({ name: 'commy_ejections_total', help: 'Outlier ejections.', labelNames: ['service', 'endpoint'], registers })
    this.healthChecks = new Counter({
      name: 'commy_health_checks_total',
      help: 'Active health checks run, by result (pass|fail).',
      labelNames: ['service', 'endpoint', 'result'],
      registers,
    })
    this.gossipMessages = new Counter({
      name: 'commy_gossip_messages_total',
      help: 'Gossip messages sent (out) and received (in), by type.',
      labelNames: ['direction', 'type'],
      registers,
    })
    this.gossipBytesTotal = new Counter({ name: 'commy_gossip_bytes_total', help: 'Gossip bytes on the wire.', labelNames: ['direction'], registers })
    this.gossipAuthFailures = new Counter({
      name: 'commy_gossip_auth_failures_total',
      help: 'Gossip packets dropped because they failed decryption or authentication.',
      registers,
    })
    this.gossipDropped = new Counter({
      name: 'commy_gossip_dropped_total',
      help: 'Gossip UDP packets (kind=packet) and inbound push-pull streams (kind=stream) dropped, by reason (auth|replay|stale|cluster|version|malformed|oversize|limit|timeout).',
      labelNames: ['kind', 'reason'],
      registers,
    })
    for (const [kind, reasons] of Object.entries(DROP_REASONS)) for (const reason of reasons) this.gossipDropped.inc({ kind, reason }, 0)
    this.configReloads = new Counter({
      name: 'commy_config_reloads_total',
      help: 'Config reload attempts (SIGHUP, file watch, POST /v1/reload), by result (success|failure).',
      labelNames: ['result'],
      registers,
    })
    this.adminActions = new Counter({
      name: 'commy_admin_actions_total',
      help: 'Runtime controls used on the admin API, by action (log-level, drain, undrain, maintenance_on, maintenance_off).',
      labelNames: ['action'],
      registers,
    })
    for (const action of ADMIN_ACTIONS) this.adminActions.inc({ action }, 0)
    this.connectionsRefused = new Counter({
      name: 'commy_connections_refused_total',
      help: 'Client connections closed at once on accept, by listener and reason (limit: limits.maxConnections reached; descriptors: out of file descriptors; tls: TLS handshake failed (no or untrusted client certificate, plaintext); identity: client certificate without a mesh identity of this trust domain).',
      labelNames: ['listener', 'reason'],
      registers,
    })
    this.inboundRequests = new Counter({
      name: 'commy_inbound_requests_total',
      help: 'Requests at the mTLS inbound listener by local service, calling service (its certificate identity) and authorization decision (allowed, denied: 403 COMMY_ERR_FORBIDDEN). Bounded: local services x services of the mesh.',
      labelNames: ['service', 'caller', 'decision'],
      registers,
    })
    this.accessLogDropped = new Counter({
      name: 'commy_access_log_dropped_total',
      help: 'Access-log lines dropped because the log destination could not keep up.',
      registers,
    })
    this.descriptorExhaustion = new Counter({
      name: 'commy_descriptor_exhaustion_total',
      help: 'Times commy ran out of file descriptors (EMFILE/ENFILE), by operation (accept|connect).',
      labelNames: ['op'],
      registers,
    })
    this.identityMismatches = new Counter({
      name: 'commy_tls_identity_mismatch_total',
      help: 'Handshakes in which a mesh endpoint presented another identity than its service (it is taken out of picking).',
      labelNames: ['service'],
      registers,
    })
    this.traceSpansExported = new Counter({
      name: 'commy_trace_spans_exported_total',
      help: 'Spans accepted by the OTLP collector (tracing on).',
      registers,
    })
    this.traceSpansDropped = new Counter({
      name: 'commy_trace_spans_dropped_total',
      help: 'Spans lost, by reason: queue_full (the export queue was full), export_failed (the collector refused or could not be reached).',
      labelNames: ['reason'],
      registers,
    })
    this.traceSpansExported.inc(0)
    for (const reason of ['queue_full', 'export_failed']) this.traceSpansDropped.inc({ reason }, 0)
    this.accessLogDropped.inc(0)
    for (const op of EXHAUSTION_OPS) this.descriptorExhaustion.inc({ op }, 0)
    this.configReloads.inc({ result: 'success' }, 0)
    this.configReloads.inc({ result: 'failure' }, 0)
    this.lastReloadSuccess = new Gauge({
      name: 'commy_config_last_reload_success',
      help: 'Whether the last config load or reload succeeded (1) or was refused (0, the previous config still serves).',
      registers,
    })
    this.lastReloadSuccessTime = new Gauge({
      name: 'commy_config_last_reload_success_timestamp_seconds',
      help: 'When the config was last loaded or reloaded successfully (Unix seconds; the start counts).',
      registers,
    })
    this.lastReloadSuccess.set(1)
    this.lastReloadSuccessTime.set(Math.floor(this.clock.wallNow() / 1000))
    this.gossipAuthFailures.inc(0)

    // ---- state mirrors (scrape time) ----
    const inFlight: Gauge<'service'> = new Gauge({
      name: 'commy_requests_in_flight',
      help: 'Requests being sent to endpoints of the service now.',
      labelNames: ['service'],
      registers,
      collect: () => {
        inFlight.reset()
        const sums = new Map<string, number>()
        for (const ep of this.state().endpoints) sums.set(ep.service, (sums.get(ep.service) ?? 0) + ep.inFlight)
        for (const [service, n] of sums) inFlight.set({ service }, n)
      },
    })
    const breaker: Gauge<'service' | 'endpoint'> = new Gauge({
      name: 'commy_breaker_state',
      help: 'Circuit breaker state per endpoint: 0 closed, 1 half-open, 2 open.',
      labelNames: ['service', 'endpoint'],
      registers,
      collect: () => {
        breaker.reset()
        for (const ep of this.state().endpoints) breaker.set({ service: ep.service, endpoint: ep.address }, BREAKER_VALUE[ep.breaker])
      },
    })
    const endpoints: Gauge<'service' | 'state'> = new Gauge({
      name: 'commy_endpoints',
      help: 'Endpoints per service by state (healthy|unhealthy|ejected|draining).',
      labelNames: ['service', 'state'],
      registers,
      collect: () => {
        endpoints.reset()
        const counts = new Map<string, Record<string, number>>()
        for (const ep of this.state().endpoints) {
          let c = counts.get(ep.service)
          if (!c) counts.set(ep.service, (c = Object.fromEntries(ENDPOINT_STATES.map((s) => [s, 0]))))
          c[ep.state] = (c[ep.state] ?? 0) + 1
        }
        for (const [service, c] of counts) for (const state of ENDPOINT_STATES) endpoints.set({ service, state }, c[state]!)
      },
    })
    const members: Gauge<'state'> = new Gauge({
      name: 'commy_members',
      help: 'Gossip members known to this node, by state (alive|suspect|dead|left).',
      labelNames: ['state'],
      registers,
      collect: () => {
        const c: Record<string, number> = Object.fromEntries(MEMBER_STATES.map((s) => [s, 0]))
        for (const m of this.state().members) c[m.state] = (c[m.state] ?? 0) + 1
        for (const state of MEMBER_STATES) members.set({ state }, c[state]!)
      },
    })
    const info: Gauge<'node' | 'version' | 'config_version'> = new Gauge({
      name: 'commy_info',
      help: 'Always 1; the labels carry the node name, commy version and active config version.',
      labelNames: ['node', 'version', 'config_version'],
      registers,
      collect: () => {
        info.reset()
        const n = this.state().node
        if (n) info.set({ node: n.name, version: n.version, config_version: n.configVersion }, 1)
      },
    })

    const certExpiry: Gauge<'file' | 'identity'> = new Gauge({
      name: 'commy_tls_cert_expiry_timestamp_seconds',
      help: 'When a loaded mesh certificate expires (Unix seconds), per file and identity (SPIFFE ID; a CA: subject and serial).',
      labelNames: ['file', 'identity'],
      registers,
      collect: () => {
        certExpiry.reset()
        for (const c of this.state().certificates) certExpiry.set({ file: c.file, identity: c.identity }, Math.floor(c.notAfter / 1000))
      },
    })

    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** Late binding of the state the scrape-time gauges read. */
  setSource(source: MetricsStateSource): void {
    this.source = source
  }

  /** The recorder of one route; cached, so calling it again (reload) returns the same series. */
  route(listener: string, route: string, service: string): RouteMetrics {
    const key = `${listener}\0${route}\0${service}`
    let r = this.routes.get(key)
    if (!r) {
      r = new RouteMetrics(listener, route, service, this.bounds, this.maxEndpoints, this.clock.now(), this.triesOf(service))
      this.routes.set(key, r)
    }
    return r
  }

  /** The routes of a (re)loaded config: their series exist from 0; routes no longer declared are dropped. */
  declareRoutes(declared: readonly RouteKey[]): void {
    const keep = new Set<string>()
    for (const d of declared) {
      this.route(d.listener, d.route, d.service)
      keep.add(`${d.listener}\0${d.route}\0${d.service}`)
    }
    for (const [key, r] of this.routes) {
      if (keep.has(key) || r.route === NO_ROUTE_LABEL) continue
      r.retired = true
      this.routes.delete(key)
    }
  }

  /** Every route recorder (the admin's /v1/routes and services read their windows). */
  routeMetrics(): IterableIterator<RouteMetrics> {
    return this.routes.values()
  }

  /** The clock the request windows use. */
  now(): number {
    return this.clock.now()
  }

  private triesOf(service: string): ServiceTries {
    let t = this.tries.get(service)
    if (!t) this.tries.set(service, (t = new ServiceTries(service, this.maxEndpoints)))
    return t
  }

  /** Drops a route's series (it was removed by a reload). */
  forgetRoute(listener: string, route: string, service: string): void {
    const key = `${listener}\0${route}\0${service}`
    const r = this.routes.get(key)
    if (r) r.retired = true
    this.routes.delete(key)
  }

  /** A gRPC call ended with `status` (the endpoint's, or commy's own error's). */
  grpcResponse(service: string, status: number): void {
    let children = this.grpcChildren.get(service)
    if (children === undefined) this.grpcChildren.set(service, (children = []))
    const i = status >= 0 && status <= 16 ? status : 17
    ;(children[i] ??= this.grpcResponses.labels(service, i === 17 ? 'other' : String(i))).inc()
    let counts = this.grpcCounts.get(service)
    if (counts === undefined) this.grpcCounts.set(service, (counts = []))
    counts[i] = (counts[i] ?? 0) + 1
  }

  /** gRPC calls of `service` since start by status name (`{OK: 12, UNAVAILABLE: 3}`), undefined before the first. */
  grpcStatuses(service: string): Readonly<Record<string, number>> | undefined {
    const counts = this.grpcCounts.get(service)
    if (counts === undefined) return undefined
    const out: Record<string, number> = {}
    counts.forEach((n, i) => {
      if (n > 0) out[i === 17 ? 'other' : grpcStatusName(i)] = n
    })
    return out
  }

  /** `n` retries sent for one request of the service. */

  retry(service: string, n = 1): void {
    this.retries.inc({ service }, n)
  }

  retryBudgetExhausted(service: string): void {
    this.budgetExhausted.inc({ service })
  }

  breakerTransition(service: string, endpoint: string, to: BreakerKind): void {
    this.breakerTransitions.inc({ service, endpoint, to })
  }

  ejection(service: string, endpoint: string): void {
    this.ejections.inc({ service, endpoint })
  }

  healthCheck(service: string, endpoint: string, ok: boolean): void {
    this.healthChecks.inc({ service, endpoint, result: ok ? 'pass' : 'fail' })
  }

  /** One gossip message; `bytes` (wire size) also counts into commy_gossip_bytes_total. */
  gossipMessage(direction: Direction, type: string, bytes = 0): void {
    this.gossipMessages.inc({ direction, type: this.gossipType(type) })
    if (bytes > 0) this.gossipBytesTotal.inc({ direction }, bytes)
  }

  /** The label of a message type: the first MAX_GOSSIP_TYPES seen keep their name, later ones are "other". */
  private gossipType(type: string): string {
    if (this.gossipTypes.has(type)) return type
    if (this.gossipTypes.size >= MAX_GOSSIP_TYPES) return 'other'
    this.gossipTypes.add(type)
    return type
  }

  /** Wire bytes not tied to one message (push-pull streams). */
  gossipBytes(direction: Direction, bytes: number): void {
    if (bytes > 0) this.gossipBytesTotal.inc({ direction }, bytes)
  }

  gossipAuthFailure(): void {
    this.gossipAuthFailures.inc()
  }

  /** One gossip packet or stream dropped. */
  gossipDrop(kind: DropKind, reason: DropReason): void {
    this.gossipDropped.inc({ kind, reason })
  }

  /** A runtime control used on the admin API (`log-level`, …). */
  adminAction(action: AdminActionName): void {
    this.adminActions.inc({ action })
  }

  /** Called by whoever reloads (SIGHUP, file watch or POST /v1/reload), once per attempt. */
  configReload(ok: boolean): void {
    this.configReloads.inc({ result: ok ? 'success' : 'failure' })
    this.lastReloadSuccess.set(ok ? 1 : 0)
    if (ok) this.lastReloadSuccessTime.set(Math.floor(this.clock.wallNow() / 1000))
  }

  /** Follows the data plane's connection counters (read at every scrape). */
  followConnections(read: () => ConnectionCounters): void {
    this.connections.follow(read)
  }

  /**
   * Follows a gossip counter snapshot (membership's GossipCounters) read at every scrape: the
   * counters grow by what the snapshot gained since the last scrape. Use this or the per-event
   * gossip methods, not both.
   */
  followGossip(read: () => GossipCounterView): void {
    let last: GossipCounterView | undefined
    this.beforeScrape.add(() => {
      const now = read()
      for (const [direction, byType] of [['in', now.messagesIn], ['out', now.messagesOut]] as const) {
        const prev = direction === 'in' ? last?.messagesIn : last?.messagesOut
        for (const [type, n] of Object.entries(byType)) {
          const d = n - (prev?.[type] ?? 0)
          if (d > 0) this.gossipMessages.inc({ direction, type: this.gossipType(type) }, d)
        }
      }
      this.gossipBytes('in', now.bytesIn - (last?.bytesIn ?? 0))
      this.gossipBytes('out', now.bytesOut - (last?.bytesOut ?? 0))
      const auth = now.drops.auth - (last?.drops.auth ?? 0)
      if (auth > 0) this.gossipAuthFailures.inc(auth)
      for (const kind of ['packet', 'stream'] as const) {
        for (const [reason, n] of Object.entries(now.dropped?.[kind] ?? {})) {
          const d = n - (last?.dropped?.[kind][reason as DropReason] ?? 0)
          if (d > 0) this.gossipDropped.inc({ kind, reason }, d)
        }
      }
      // a copy: the reader may hand out its live counters object
      last = {
        messagesIn: { ...now.messagesIn },
        messagesOut: { ...now.messagesOut },
        bytesIn: now.bytesIn,
        bytesOut: now.bytesOut,
        drops: { auth: now.drops.auth },
        dropped: { packet: { ...now.dropped?.packet }, stream: { ...now.dropped?.stream } },
      }
    })
  }

  /**
   * Follows the data plane's overload counters, read at every scrape: the counters grow by what
   * the snapshot gained since the last scrape; every listener's refusal series exist from 0.
   */
  followOverload(read: () => OverloadCounters): void {
    const last = new Map<string, number>()
    const grow = (key: string, now: number, inc: (d: number) => void) => {
      const d = now - (last.get(key) ?? 0)
      if (d > 0 || !last.has(key)) inc(Math.max(0, d))
      last.set(key, now)
    }
    this.beforeScrape.add(() => {
      const now = read()
      for (const [listener, byReason] of now.refused) {
        for (const [reason, n] of Object.entries(byReason)) grow(`refused\0${listener}\0${reason}`, n, (d) => this.connectionsRefused.inc({ listener, reason }, d))
      }
      grow('accessLogDropped', now.accessLogDropped, (d) => this.accessLogDropped.inc(d))
      for (const op of EXHAUSTION_OPS) grow(`exhaustion\0${op}`, now.descriptorExhaustion[op], (d) => this.descriptorExhaustion.inc({ op }, d))
      for (const [key, c] of now.authz ?? []) {
        const { service, caller } = c
        grow(`authz\0${key}\0allowed`, c.allowed, (d) => this.inboundRequests.inc({ service, caller, decision: 'allowed' }, d))
        grow(`authz\0${key}\0denied`, c.denied, (d) => this.inboundRequests.inc({ service, caller, decision: 'denied' }, d))
      }
    })
  }

  /** Follows the tracer's span counts (tracing/span-queue.ts), read at every scrape. */
  followTraceSpans(read: () => TraceSpanCounts): void {
    const last = { exported: 0, dropped: 0, failed: 0 }
    this.beforeScrape.add(() => {
      const now = read()
      if (now.exported > last.exported) this.traceSpansExported.inc(now.exported - last.exported)
      if (now.dropped > last.dropped) this.traceSpansDropped.inc({ reason: 'queue_full' }, now.dropped - last.dropped)
      if (now.failed > last.failed) this.traceSpansDropped.inc({ reason: 'export_failed' }, now.failed - last.failed)
      Object.assign(last, now)
    })
  }

  /** Follows the transport's identity refusals per service, read at every scrape. */
  followIdentityMismatches(read: () => ReadonlyMap<string, number>): void {
    const last = new Map<string, number>()
    this.beforeScrape.add(() => {
      for (const [service, n] of read()) {
        const d = n - (last.get(service) ?? 0)
        if (d > 0) this.identityMismatches.inc({ service }, d)
        last.set(service, n)
      }
    })
  }

  /**
   * The event counters of every known endpoint and service exist from 0 (rate() and absent-vs-0):
   * ejections, breaker transitions by state, health checks by result; retries and retry-budget
   * refusals per service. Once per endpoint (again after it left and came back).
   */
  private zeroKnown(endpoints: readonly EndpointView[]): void {
    for (const ep of endpoints) {
      const { service, address: endpoint } = ep
      if (!this.zeroed.has(service)) {
        this.zeroed.add(service)
        this.retries.inc({ service }, 0)
        this.budgetExhausted.inc({ service }, 0)
      }
      const key = `${service}~${endpoint}`
      if (this.zeroed.has(key)) continue
      this.zeroed.add(key)
      this.ejections.inc({ service, endpoint }, 0)
      for (const to of BREAKER_STATES) this.breakerTransitions.inc({ service, endpoint, to }, 0)
      this.healthChecks.inc({ service, endpoint, result: 'pass' }, 0)
      this.healthChecks.inc({ service, endpoint, result: 'fail' }, 0)
    }
  }

  /** Removes every series labelled with this endpoint (it left the service). */
  forgetEndpoint(service: string, endpoint: string): void {
    this.zeroed.delete(`${service}~${endpoint}`)
    for (const r of this.routes.values()) if (r.service === service) r.forget(endpoint)
    this.tries.get(service)?.forget(endpoint)
    for (const to of BREAKER_STATES) this.breakerTransitions.remove({ service, endpoint, to })
    this.ejections.remove({ service, endpoint })
    this.healthChecks.remove({ service, endpoint, result: 'pass' })
    this.healthChecks.remove({ service, endpoint, result: 'fail' })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The exposition text; the source is read once per scrape. */
  async text(): Promise<string> {
    this.beforeScrape.emit()
    this.scrape = this.readSource()
    this.zeroKnown(this.scrape.endpoints)
    try {
      return await this.registry.metrics()
    } finally {
      this.scrape = undefined
      this.connections.settle()
    }
  }

  private state(): ScrapeState {
    return this.scrape ?? this.readSource()
  }

  private readSource(): ScrapeState {
    const s = this.source
    if (!s) return { node: undefined, endpoints: [], members: [], certificates: [] }
    return { node: s.node(), endpoints: s.endpoints(), members: s.members(), certificates: s.certificates?.() ?? [] }
  }
}

/** Label of requests that matched no route (request-observer.ts's NO_ROUTE): never declared, never dropped by a reload. */
const NO_ROUTE_LABEL = 'none'

/** service -> addresses of its endpoints known now. */
function endpointsByService(endpoints: readonly EndpointView[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const ep of endpoints) {
    const list = out.get(ep.service)
    if (list) list.push(ep.address)
    else out.set(ep.service, [ep.address])
  }
  return out
}
