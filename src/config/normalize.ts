/**
 * Raw (schema-valid) config -> SidecarConfig: durations to ms, defaults filled in,
 * semantic checks that a schema cannot express. Issues are collected with their key path.
 */
import { hostname } from 'node:os'
import type { RawHealthCheck, RawRoute, RawService, RawSidecarConfig } from './schema.js'
import type {
  AlertRuleConfig,
  EndpointConfig,
  GossipConfig,
  HealthCheckConfig,
  HostPort,
  InboundConfig,
  KeyPairFiles,
  MeshTlsConfig,
  ProbesConfig,
  TracingConfig,
  RetryCondition,
  RetryPolicyConfig,
  RouteConfig,
  ServiceConfig,
  SidecarConfig,
  UpstreamTlsConfig,
} from './types.js'
import { grpcRouteIssue } from './grpc-routes.js'
import { parseDuration } from './duration.js'
import { GOSSIP_STREAM_DEFAULTS } from './gossip-defaults.js'
import { BUILTIN_STRATEGIES } from './schema.js'

export interface PathIssue {
  readonly path: (string | number)[]
  readonly message: string
}

/** Defaults, in one place (the README's config reference lists the same values). */
export const DEFAULTS = Object.freeze({
  adminListen: '127.0.0.1:15000',
  maxHeaderSize: 16384,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  drainTimeoutMs: 30_000,
  drainGraceMs: 1_000,
  maxHeaderCount: 100,
  maxUriLength: 8192,
  maxConnections: 10_000,
  requestBodyIdleTimeoutMs: 10_000,
  minRequestBodyRate: 240,
  requestBufferSize: 64 * 1024,
  http2: { maxConcurrentStreams: 100, maxHeaderListSize: 16384, initialWindowSize: 65_535, maxResetsPerSecond: 100, maxControlFramesPerSecond: 100, maxInvalidFrames: 100, maxRejectedStreams: 100 },
  routeTimeoutMs: 15_000,
  retryAttempts: 1,
  retryOn: ['connect-failure', 'reset'] as RetryCondition[],
  idempotentMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'],
  backoffBaseMs: 25,
  backoffMaxMs: 250,
  maxBufferedBody: 64 * 1024,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 20, resetTimeoutMs: 10_000, rollingCountTimeoutMs: 10_000, rollingCountBuckets: 10 },
  healthCheck: { intervalMs: 5_000, timeoutMs: 1_000, jitter: 10, unhealthyThreshold: 3, healthyThreshold: 2, path: '/health', method: 'GET', expectStatus: '200-399', remote: false },
  outlier: { consecutiveErrors: 5, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 50 },
  panicThreshold: 50,
  latencyDecayMs: 10_000,
  retryBudget: { ratio: 0.2, minPerSecond: 10 },
  upstream: { connections: 128, connectTimeoutMs: 5_000, keepAliveTimeoutMs: 4_000, maxConcurrentStreams: 100 },
  protocol: 'http1' as const,
  historyBucketMs: 10_000,
  historyRetentionMs: 3_600_000,
  eventLoopLagThresholdMs: 100,
  alertsKeep: 100,
  certExpiringMs: 7 * 86_400_000,
  joinTimeoutMs: 30_000,
  tlsMode: 'strict' as const,
  tlsWatch: true,
  // one home for every default (`commy schema` documents them: config/schema-doc.ts)
  watchConfig: false,
  log: { level: 'info' as const, destination: 'stdout', accessLog: true, format: 'json' as const },
  maxRequestsPerSocket: 0,
  strategy: 'round-robin',
  endpointWeight: 1,
  hashBalanceFactor: 0,
  preferLocalZone: false,
  breakerEnabled: true,
  outlierEnabled: true,
  slowStartMs: 0,
  concurrency: { maxInFlight: 0, maxQueued: 0, queueTimeoutMs: 1_000 },
  explain: false,
  alertRule: { forMs: 0, minRequests: 10 },
  webhook: { timeoutMs: 2_000, retries: 3 },
  gossip: { cluster: 'commy', profile: 'lan' as const, indirectChecks: 3, suspicionMaxTimeoutMult: 6, gossipNodes: 3, tombstoneTimeoutMs: 60_000, lifeguard: true, healthQuorum: 2 },
  /** What `gossip.profile` sets: `lan` (the default) and `local` (one machine, tests). */
  gossipProfiles: {
    lan: { probeIntervalMs: 1000, probeTimeoutMs: 500, suspicionMult: 4, retransmitMult: 4, gossipIntervalMs: 200, pushPullIntervalMs: 30_000 },
    local: { probeIntervalMs: 200, probeTimeoutMs: 100, suspicionMult: 3, retransmitMult: 2, gossipIntervalMs: 100, pushPullIntervalMs: 5_000 },
  },
  tracing: { sampling: 1, serviceName: 'commy', timeoutMs: 10_000 },
})

export function splitHostPort(address: string): HostPort {
  const i = address.lastIndexOf(':')
  let host = address.slice(0, i)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  return { host, port: Number(address.slice(i + 1)) }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

export function normalizeConfig(
  raw: RawSidecarConfig,
  file: string,
  version: string,
  issues: PathIssue[],
  extraStrategies: readonly string[] = [],
): SidecarConfig {
  const strategies = new Set<string>([...BUILTIN_STRATEGIES, ...extraStrategies])
  const strategyOk = (s: string | undefined, path: (string | number)[]) => {
    if (s !== undefined && !strategies.has(s)) issues.push({ path, message: `unknown strategy "${s}" (one of: ${[...strategies].join(', ')})` })
  }
  const ms = (v: string | number | undefined, dflt: number, path: (string | number)[]): number => {
    if (v === undefined) return dflt
    const d = parseDuration(v)
    if (d === undefined) {
      issues.push({ path, message: `"${v}" is not a duration (use 500ms, 2s, 1m, 1h)` })
      return dflt
    }
    return d
  }
  const port = (address: string, path: (string | number)[]): HostPort => {
    if (address.startsWith('unix:')) return { host: address, port: 0 } // a Unix socket: the host is the whole address
    const hp = splitHostPort(address)
    if (!(hp.port >= 0 && hp.port <= 65535)) issues.push({ path, message: `port ${hp.port} is out of range` })
    return hp
  }

  const healthCheck = (hc: RawHealthCheck | undefined, path: (string | number)[], http2 = false): HealthCheckConfig | undefined => {
    if (!hc) return undefined
    if (hc.http && hc.tcp) issues.push({ path, message: 'a health check is either http or tcp, not both' })
    const D = DEFAULTS.healthCheck
    const status = hc.http?.expectStatus ?? D.expectStatus
    const [lo, hi] = status.split('-').map(Number) as [number, number | undefined]
    const intervalMs = ms(hc.interval, D.intervalMs, [...path, 'interval'])
    const timeoutMs = ms(hc.timeout, D.timeoutMs, [...path, 'timeout'])
    if (intervalMs <= 0) issues.push({ path: [...path, 'interval'], message: 'interval must be greater than 0' })
    return Object.freeze({
      kind: hc.tcp ? 'tcp' : 'http',
      path: hc.http?.path ?? D.path,
      method: hc.http?.method ?? D.method,
      expectStatus: Object.freeze<[number, number]>([lo, hi ?? lo]),
      expectBody: hc.http?.expectBody,
      headers: Object.freeze({ ...(hc.http?.headers ?? {}) }),
      intervalMs,
      timeoutMs,
      jitter: hc.jitter ?? D.jitter,
      unhealthyThreshold: hc.unhealthyThreshold ?? D.unhealthyThreshold,
      healthyThreshold: hc.healthyThreshold ?? D.healthyThreshold,
      remote: hc.remote ?? D.remote,
      ...(http2 && !hc.tcp ? { http2: true } : {}),
    })
  }

  const node = Object.freeze({ name: raw.node?.name ?? hostname(), zone: raw.node?.zone })

  const adminListen = port(raw.admin?.listen ?? DEFAULTS.adminListen, ['admin', 'listen'])
  if (!isLoopback(adminListen.host) && !raw.admin?.token) {
    issues.push({ path: ['admin', 'listen'], message: `binding the admin port to non-loopback ${adminListen.host} requires admin.token` })
  }
  const admin = Object.freeze({ listen: adminListen, token: raw.admin?.token, watchConfig: raw.admin?.watchConfig ?? DEFAULTS.watchConfig })

  const log = Object.freeze({
    level: (raw.log?.level ?? DEFAULTS.log.level) as SidecarConfig['log']['level'],
    destination: raw.log?.destination ?? DEFAULTS.log.destination,
    accessLog: raw.log?.accessLog ?? DEFAULTS.log.accessLog,
    format: raw.log?.format ?? DEFAULTS.log.format,
  })

  const L = raw.limits ?? {}
  const limits = Object.freeze({
    maxHeaderSize: L.maxHeaderSize ?? DEFAULTS.maxHeaderSize,
    headersTimeoutMs: ms(L.headersTimeout, DEFAULTS.headersTimeoutMs, ['limits', 'headersTimeout']),
    requestTimeoutMs: ms(L.requestTimeout, DEFAULTS.requestTimeoutMs, ['limits', 'requestTimeout']),
    keepAliveTimeoutMs: ms(L.keepAliveTimeout, DEFAULTS.keepAliveTimeoutMs, ['limits', 'keepAliveTimeout']),
    maxRequestsPerSocket: L.maxRequestsPerSocket ?? DEFAULTS.maxRequestsPerSocket,
    drainTimeoutMs: ms(L.drainTimeout, DEFAULTS.drainTimeoutMs, ['limits', 'drainTimeout']),
    drainGraceMs: ms(L.drainGrace, DEFAULTS.drainGraceMs, ['limits', 'drainGrace']),
    maxHeaderCount: L.maxHeaderCount ?? DEFAULTS.maxHeaderCount,
    maxUriLength: L.maxUriLength ?? DEFAULTS.maxUriLength,
    maxConnections: L.maxConnections ?? DEFAULTS.maxConnections,
    requestBodyIdleTimeoutMs: ms(L.requestBodyIdleTimeout, DEFAULTS.requestBodyIdleTimeoutMs, ['limits', 'requestBodyIdleTimeout']),
    minRequestBodyRate: L.minRequestBodyRate ?? DEFAULTS.minRequestBodyRate,
    requestBufferSize: L.requestBufferSize ?? DEFAULTS.requestBufferSize,
    http2: Object.freeze({ ...DEFAULTS.http2, ...L.http2 }),
  })

  // services some route sends through consistent-hash (route.strategy): their hashKey is used
  const hashedByRoute = new Set(raw.listeners.flatMap((l) => l.routes.filter((r) => r.strategy === 'consistent-hash').map((r) => r.service)))
  const services: Record<string, ServiceConfig> = {}
  for (const [name, s] of Object.entries(raw.services)) services[name] = normalizeService(name, s, ['services', name])

  function normalizeService(name: string, s: RawService, path: (string | number)[]): ServiceConfig {
    const endpoints: EndpointConfig[] = (s.endpoints ?? []).map((e, i) => {
      const hp = port(e.address, [...path, 'endpoints', i, 'address'])
      return Object.freeze({ address: e.address, host: hp.host, port: hp.port, weight: e.weight ?? DEFAULTS.endpointWeight, zone: e.zone, tags: Object.freeze([...(e.tags ?? [])]) })
    })
    const seen = new Set<string>()
    endpoints.forEach((e, i) => {
      if (seen.has(e.address)) issues.push({ path: [...path, 'endpoints', i, 'address'], message: `duplicate endpoint ${e.address}` })
      seen.add(e.address)
      if (e.host.startsWith('unix:') && s.healthCheck?.http) {
        issues.push({ path: [...path, 'endpoints', i, 'address'], message: 'a unix: endpoint is checked with healthCheck.tcp only (an http check cannot reach a Unix socket)' })
      }
      if (e.host.startsWith('unix:') && s.tls) issues.push({ path: [...path, 'endpoints', i, 'address'], message: 'a unix: endpoint is plaintext: remove tls, or use host:port' })
    })
    const strategy = s.strategy ?? DEFAULTS.strategy
    strategyOk(s.strategy, [...path, 'strategy'])
    strategyOk(s.hashFallback, [...path, 'hashFallback'])
    if (s.hashKey && strategy !== 'consistent-hash' && !hashedByRoute.has(name)) {
      issues.push({ path: [...path, 'hashKey'], message: 'hashKey is only used with strategy: consistent-hash (on the service or a route to it)' })
    }
    const B = DEFAULTS.breaker
    const O = DEFAULTS.outlier
    const U = DEFAULTS.upstream
    const breakerRaw = s.breaker ?? {}
    return Object.freeze({
      name,
      strategy,
      hashKey: s.hashKey ?? (strategy === 'consistent-hash' ? 'client-ip' : undefined),
      hashFallback: s.hashFallback ?? DEFAULTS.strategy,
      hashBalanceFactor: s.hashBalanceFactor ?? DEFAULTS.hashBalanceFactor,
      latencyDecayMs: ms(s.latencyDecay, DEFAULTS.latencyDecayMs, [...path, 'latencyDecay']),
      endpoints: Object.freeze(endpoints),
      tags: Object.freeze([...(s.tags ?? [])]),
      preferLocalZone: s.preferLocalZone ?? DEFAULTS.preferLocalZone,
      breaker: Object.freeze({
        enabled: breakerRaw.enabled ?? DEFAULTS.breakerEnabled,
        errorThresholdPercentage: breakerRaw.errorThresholdPercentage ?? B.errorThresholdPercentage,
        volumeThreshold: breakerRaw.volumeThreshold ?? B.volumeThreshold,
        resetTimeoutMs: ms(breakerRaw.resetTimeout, B.resetTimeoutMs, [...path, 'breaker', 'resetTimeout']),
        rollingCountTimeoutMs: ms(breakerRaw.rollingCountTimeout, B.rollingCountTimeoutMs, [...path, 'breaker', 'rollingCountTimeout']),
        rollingCountBuckets: breakerRaw.rollingCountBuckets ?? B.rollingCountBuckets,
      }),
      healthCheck: healthCheck(s.healthCheck, [...path, 'healthCheck'], s.protocol === 'http2'),
      outlierDetection: Object.freeze({
        enabled: s.outlierDetection?.enabled ?? DEFAULTS.outlierEnabled,
        consecutiveErrors: s.outlierDetection?.consecutiveErrors ?? O.consecutiveErrors,
        baseEjectionTimeMs: ms(s.outlierDetection?.baseEjectionTime, O.baseEjectionTimeMs, [...path, 'outlierDetection', 'baseEjectionTime']),
        maxEjectionTimeMs: ms(s.outlierDetection?.maxEjectionTime, O.maxEjectionTimeMs, [...path, 'outlierDetection', 'maxEjectionTime']),
        maxEjectionPercent: s.outlierDetection?.maxEjectionPercent ?? O.maxEjectionPercent,
      }),
      panicThreshold: s.panicThreshold ?? DEFAULTS.panicThreshold,
      slowStartMs: ms(s.slowStart, DEFAULTS.slowStartMs, [...path, 'slowStart']),
      concurrency: Object.freeze({
        maxInFlight: s.concurrency?.maxInFlight ?? DEFAULTS.concurrency.maxInFlight,
        maxQueued: s.concurrency?.maxQueued ?? DEFAULTS.concurrency.maxQueued,
        queueTimeoutMs: ms(s.concurrency?.queueTimeout, DEFAULTS.concurrency.queueTimeoutMs, [...path, 'concurrency', 'queueTimeout']),
      }),
      retryBudget: Object.freeze({
        ratio: s.retryBudget?.ratio ?? DEFAULTS.retryBudget.ratio,
        minPerSecond: s.retryBudget?.minPerSecond ?? DEFAULTS.retryBudget.minPerSecond,
      }),
      upstream: Object.freeze({
        connections: s.upstream?.connections ?? U.connections,
        connectTimeoutMs: ms(s.upstream?.connectTimeout, U.connectTimeoutMs, [...path, 'upstream', 'connectTimeout']),
        keepAliveTimeoutMs: ms(s.upstream?.keepAliveTimeout, U.keepAliveTimeoutMs, [...path, 'upstream', 'keepAliveTimeout']),
        maxConcurrentStreams: s.upstream?.maxConcurrentStreams ?? U.maxConcurrentStreams,
      }),
      protocol: s.protocol ?? DEFAULTS.protocol,
      tls: s.tls ? upstreamTls(s.tls, [...path, 'tls'], s) : undefined,
    })
  }

  // a declaration (hoisted): normalizeService above uses it
  function upstreamTls(t: NonNullable<RawService['tls']>, path: (string | number)[], s?: RawService): UpstreamTlsConfig {
    if ((t.cert === undefined) !== (t.key === undefined)) issues.push({ path, message: 'a client certificate needs both cert and key' })
    // HTTP checks speak plaintext: against an HTTPS endpoint they would only ever fail
    if (s?.healthCheck !== undefined && !s.healthCheck.tcp) issues.push({ path: [...path.slice(0, -1), 'healthCheck'], message: 'an HTTP health check of a service with tls is not supported yet: use tcp: {}' })
    return Object.freeze({ ca: t.ca, cert: t.cert, key: t.key, servername: t.servername })
  }
  const keyPair = (t: { cert: string; key: string } | undefined, path: (string | number)[]): KeyPairFiles | undefined => {
    if (t === undefined) return undefined
    if (!raw.tls) issues.push({ path, message: 'a per-listener or per-service certificate needs the mesh tls (tls.ca, tls.cert, tls.key)' })
    return Object.freeze({ cert: t.cert, key: t.key })
  }

  const route = (r: RawRoute, path: (string | number)[], index: number, listener: string): RouteConfig => {
    if (!raw.services[r.service]) {
      issues.push({ path: [...path, 'service'], message: `service "${r.service}" is not defined under services` })
    }
    const grpcIssue = raw.services[r.service] ? grpcRouteIssue(r.match, r.service, raw.services[r.service]!.protocol) : undefined
    if (grpcIssue !== undefined) issues.push({ path: [...path, 'service'], message: grpcIssue })
    strategyOk(r.strategy, [...path, 'strategy'])
    const rt = r.retries ?? {}
    const on: RetryCondition[] = rt.on
      ? rt.on.map((c) => (typeof c === 'number' ? c : c === '5xx' ? -5 : /^\d+$/.test(c) ? Number(c) : (c as RetryCondition)))
      : DEFAULTS.retryOn
    const expanded: RetryCondition[] = []
    for (const c of on) if (c === -5) expanded.push(500, 502, 503, 504); else expanded.push(c)
    const retries: RetryPolicyConfig = Object.freeze({
      attempts: rt.attempts ?? DEFAULTS.retryAttempts,
      perTryTimeoutMs: ms(rt.perTryTimeout, 0, [...path, 'retries', 'perTryTimeout']),
      on: Object.freeze([...new Set(expanded)]),
      methods: Object.freeze(rt.methods ?? DEFAULTS.idempotentMethods),
      backoffBaseMs: ms(rt.backoff?.base, DEFAULTS.backoffBaseMs, [...path, 'retries', 'backoff', 'base']),
      backoffMaxMs: ms(rt.backoff?.max, DEFAULTS.backoffMaxMs, [...path, 'retries', 'backoff', 'max']),
      maxBufferedBody: rt.maxBufferedBody ?? DEFAULTS.maxBufferedBody,
    })
    if (r.match.grpc !== undefined && r.match.pathPrefix !== undefined) issues.push({ path: [...path, 'match', 'grpc'], message: 'match.grpc names the path itself: use it or pathPrefix, not both' })
    const headers = Object.entries(r.match.headers ?? {}).map(([k, v]) => Object.freeze([k.toLowerCase(), v] as const))
    return Object.freeze({
      name: r.name ?? `${listener}-${index}`,
      match: Object.freeze({
        host: r.match.host?.toLowerCase().replace(/:\d+$/, ''),
        pathPrefix: r.match.pathPrefix,
        headers: Object.freeze(headers),
        ...(r.match.grpc === undefined ? {} : { grpc: Object.freeze({ service: r.match.grpc.service, method: r.match.grpc.method }) }),
      }),
      service: r.service,
      timeoutMs: ms(r.timeout, DEFAULTS.routeTimeoutMs, [...path, 'timeout']),
      retries,
      strategy: r.strategy,
      tags: Object.freeze([...(r.tags ?? [])]),
      explain: r.explain ?? DEFAULTS.explain,
    })
  }

  const listenerNames = new Set<string>()
  const listenAddrs = new Set<string>()
  const listeners = raw.listeners.map((l, i) => {
    if (listenerNames.has(l.name)) issues.push({ path: ['listeners', i, 'name'], message: `duplicate listener name "${l.name}"` })
    if (listenAddrs.has(l.listen)) issues.push({ path: ['listeners', i, 'listen'], message: `another listener already binds ${l.listen}` })
    listenerNames.add(l.name)
    listenAddrs.add(l.listen)
    return Object.freeze({
      name: l.name,
      listen: port(l.listen, ['listeners', i, 'listen']),
      routes: Object.freeze(l.routes.map((r, j) => route(r, ['listeners', i, 'routes', j], j, l.name))),
      tls: keyPair(l.tls, ['listeners', i, 'tls']),
    })
  })

  let gossip: GossipConfig | undefined
  if (raw.gossip) {
    const g = raw.gossip
    const keys: Buffer[] = []
    const keyList = [...(g.key !== undefined && g.key !== '' ? [g.key] : []), ...(g.keys ?? [])]
    keyList.forEach((k, i) => {
      const buf = Buffer.from(k, 'base64')
      const path = i === 0 && g.key ? ['gossip', 'key'] : ['gossip', 'keys', g.key ? i - 1 : i]
      if (![16, 24, 32].includes(buf.length) || buf.toString('base64').replace(/=+$/, '') !== k.replace(/=+$/, '')) {
        issues.push({ path, message: 'a gossip key is base64 of 16, 24 or 32 bytes (make one with `commy keygen`)' })
      } else keys.push(buf)
    })
    const P = DEFAULTS.gossipProfiles[g.profile ?? DEFAULTS.gossip.profile]
    const G = DEFAULTS.gossip
    const listen = port(g.listen, ['gossip', 'listen'])
    const GS = GOSSIP_STREAM_DEFAULTS
    const streamHeaderTimeoutMs = ms(g.streamHeaderTimeout, GS.streamHeaderTimeoutMs, ['gossip', 'streamHeaderTimeout'])
    const streamTimeoutMs = ms(g.streamTimeout, GS.streamTimeoutMs, ['gossip', 'streamTimeout'])
    if (streamHeaderTimeoutMs <= 0) issues.push({ path: ['gossip', 'streamHeaderTimeout'], message: 'must be above 0' })
    if (streamTimeoutMs < streamHeaderTimeoutMs) issues.push({ path: ['gossip', 'streamTimeout'], message: 'must be at least streamHeaderTimeout (it bounds the whole frame, header included)' })
    gossip = Object.freeze({
      listen,
      advertise: g.advertise ? port(g.advertise, ['gossip', 'advertise']) : listen,
      seeds: Object.freeze([...(g.seeds ?? [])]),
      joinTimeoutMs: ms(g.joinTimeout, DEFAULTS.joinTimeoutMs, ['gossip', 'joinTimeout']),
      keys: Object.freeze(keys),
      cluster: g.cluster ?? G.cluster,
      profile: g.profile ?? G.profile,
      probeIntervalMs: ms(g.probeInterval, P.probeIntervalMs, ['gossip', 'probeInterval']),
      probeTimeoutMs: ms(g.probeTimeout, P.probeTimeoutMs, ['gossip', 'probeTimeout']),
      indirectChecks: g.indirectChecks ?? G.indirectChecks,
      suspicionMult: g.suspicionMult ?? P.suspicionMult,
      suspicionMaxTimeoutMult: g.suspicionMaxTimeoutMult ?? G.suspicionMaxTimeoutMult,
      retransmitMult: g.retransmitMult ?? P.retransmitMult,
      gossipIntervalMs: ms(g.gossipInterval, P.gossipIntervalMs, ['gossip', 'gossipInterval']),
      gossipNodes: g.gossipNodes ?? G.gossipNodes,
      pushPullIntervalMs: ms(g.pushPullInterval, P.pushPullIntervalMs, ['gossip', 'pushPullInterval']),
      tombstoneTimeoutMs: ms(g.tombstoneTimeout, G.tombstoneTimeoutMs, ['gossip', 'tombstoneTimeout']),
      mtu: g.mtu ?? GS.mtu,
      lifeguard: g.lifeguard ?? G.lifeguard,
      healthQuorum: g.healthQuorum ?? G.healthQuorum,
      maxMembers: g.maxMembers ?? GS.maxMembers,
      maxInboundStreams: g.maxInboundStreams ?? GS.maxInboundStreams,
      maxStreamsPerSource: g.maxStreamsPerSource ?? GS.maxStreamsPerSource,
      streamHeaderTimeoutMs,
      streamTimeoutMs,
    })
  }

  const localServices = (raw.local?.services ?? []).map((s, i) => {
    const hp = port(s.address, ['local', 'services', i, 'address'])
    return Object.freeze({
      name: s.name,
      address: s.address,
      host: hp.host,
      port: hp.port,
      weight: s.weight ?? DEFAULTS.endpointWeight,
      tags: Object.freeze([...(s.tags ?? [])]),
      healthCheck: healthCheck(s.healthCheck, ['local', 'services', i, 'healthCheck']),
      allow: s.allow ? Object.freeze([...s.allow]) : undefined,
      tls: keyPair(s.tls, ['local', 'services', i, 'tls']),
    })
  })

  const tls: MeshTlsConfig | undefined = raw.tls
    ? Object.freeze({ ca: raw.tls.ca, cert: raw.tls.cert, key: raw.tls.key, mode: raw.tls.mode ?? DEFAULTS.tlsMode, watch: raw.tls.watch ?? DEFAULTS.tlsWatch })
    : undefined
  let inbound: InboundConfig | undefined
  if (raw.inbound) {
    if (!raw.tls) issues.push({ path: ['inbound'], message: 'the inbound listener is mTLS only: it needs tls (ca, cert, key)' })
    inbound = Object.freeze({
      listen: port(raw.inbound.listen, ['inbound', 'listen']),
      advertise: raw.inbound.advertise ? port(raw.inbound.advertise, ['inbound', 'advertise']) : undefined,
    })
  }
  const probes: ProbesConfig | undefined = raw.probes ? Object.freeze({ listen: port(raw.probes.listen, ['probes', 'listen']) }) : undefined

  const health = Object.freeze({
    historyBucketMs: ms(raw.health?.history?.bucket, DEFAULTS.historyBucketMs, ['health', 'history', 'bucket']),
    historyRetentionMs: ms(raw.health?.history?.retention, DEFAULTS.historyRetentionMs, ['health', 'history', 'retention']),
    eventLoopLagThresholdMs: ms(raw.health?.eventLoopLagThreshold, DEFAULTS.eventLoopLagThresholdMs, ['health', 'eventLoopLagThreshold']),
  })
  if (health.historyBucketMs <= 0 || health.historyRetentionMs < health.historyBucketMs) {
    issues.push({ path: ['health', 'history'], message: 'retention must be at least one bucket, and bucket greater than 0' })
  }

  const rules: AlertRuleConfig[] = (raw.alerts?.rules ?? []).map((r, i) => {
    const path = ['alerts', 'rules', i]
    let above = 0
    if (r.when === 'error-rate' || r.when === 'p99-latency') {
      if (r.above === undefined) issues.push({ path: [...path, 'above'], message: `rule "${r.when}" needs a threshold in above` })
      else if (r.when === 'error-rate') {
        if (typeof r.above === 'number') above = r.above > 1 ? r.above / 100 : r.above
        else if (r.above.endsWith('%')) above = Number(r.above.slice(0, -1)) / 100
        else issues.push({ path: [...path, 'above'], message: 'error-rate threshold is a percentage such as 5%' })
      } else {
        const d = parseDuration(r.above)
        if (d === undefined || (typeof r.above === 'string' && r.above.endsWith('%'))) issues.push({ path: [...path, 'above'], message: 'p99-latency threshold is a duration such as 250ms' })
        else above = d
      }
    } else if (r.when === 'cert-expiring') {
      const left = r.above === undefined ? DEFAULTS.certExpiringMs : timeLeft(r.above)
      if (left === undefined) issues.push({ path: [...path, 'above'], message: 'cert-expiring threshold is the time left, such as 7d or 72h' })
      else above = left
      if (!raw.tls) issues.push({ path: [...path, 'when'], message: 'cert-expiring watches the mesh certificates: it needs tls' })
    }
    // cert-expiring's service names a certificate's identity (or `ca`), not an outbound service
    if (r.service && r.when !== 'cert-expiring' && !raw.services[r.service]) issues.push({ path: [...path, 'service'], message: `service "${r.service}" is not defined under services` })
    return Object.freeze({
      name: r.name,
      when: r.when as AlertRuleConfig['when'],
      above,
      forMs: ms(r.for, DEFAULTS.alertRule.forMs, [...path, 'for']),
      service: r.service,
      severity: r.severity ?? (r.when === 'no-healthy-endpoint' ? 'critical' : 'warning'),
      minRequests: r.minRequests ?? DEFAULTS.alertRule.minRequests,
    })
  })
  const webhooks = (raw.alerts?.webhooks ?? []).map((w, i) =>
    Object.freeze({
      url: w.url,
      timeoutMs: ms(w.timeout, DEFAULTS.webhook.timeoutMs, ['alerts', 'webhooks', i, 'timeout']),
      retries: w.retries ?? DEFAULTS.webhook.retries,
      headers: Object.freeze({ ...(w.headers ?? {}) }),
    }),
  )

  const tr = raw.tracing
  const tracing: TracingConfig | undefined = tr
    ? {
        otlp: { endpoint: tr.otlp.endpoint, headers: { ...(tr.otlp.headers ?? {}) }, timeoutMs: ms(tr.otlp.timeout, DEFAULTS.tracing.timeoutMs, ['tracing', 'otlp', 'timeout']) },
        sampling: tr.sampling ?? DEFAULTS.tracing.sampling,
        serviceName: tr.serviceName ?? DEFAULTS.tracing.serviceName,
      }
    : undefined

  return deepFreeze({
    file,
    version,
    node,
    admin,
    log,
    limits,
    listeners: Object.freeze(listeners),
    services: Object.freeze(services),
    gossip,
    tls,
    inbound,
    probes,
    local: Object.freeze({ services: Object.freeze(localServices) }),
    health,
    alerts: Object.freeze({ rules: Object.freeze(rules), webhooks: Object.freeze(webhooks), keep: raw.alerts?.keep ?? DEFAULTS.alertsKeep }),
    tracing,
  })
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

/** cert-expiring's threshold: a duration, or whole or fractional days (`7d`). */
function timeLeft(value: string | number): number | undefined {
  if (typeof value === 'string' && value.endsWith('d')) {
    const days = Number(value.slice(0, -1))
    return value.length > 1 && Number.isFinite(days) && days >= 0 ? Math.round(days * 86_400_000) : undefined
  }
  if (typeof value === 'string' && value.endsWith('%')) return undefined
  return parseDuration(value)
}
