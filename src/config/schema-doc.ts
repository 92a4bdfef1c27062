/**
 * The JSON Schema editors read (`commy schema` -> schema/sidecar.schema.json): the TypeBox schema
 * (schema.ts: types, checks and every key's description) plus `$schema`, a `default` on every key
 * that has one and `examples` where a value's form is not obvious. The defaults are not written
 * here: each key names the entry of normalize's DEFAULTS it comes from (one home for the numbers),
 * and durations are shown the way a person writes them (`30s`, not 30000).
 * test/config/schema-doc.test.ts checks that normalizing a file that sets a key to its documented
 * default gives the same config as leaving it out.
 */
import { SidecarSchema } from './schema.js'
import { DEFAULTS } from './normalize.js'
import { GOSSIP_STREAM_DEFAULTS as GS } from './gossip-defaults.js'

/** The draft TypeBox's output follows (`unevaluatedProperties` of intersections needs 2019-09 or later). */
export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema'

/** `30000` -> `30s`, `3600000` -> `1h`, `250` -> `250ms`: a duration as sidecar.yaml writes it. */
export function durationText(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}

const d = durationText
const D = DEFAULTS
const HC = DEFAULTS.healthCheck
const LAN = DEFAULTS.gossipProfiles.lan

/** The health check keys, where a service's or a local service's check sits. */
function healthCheckDefaults(at: string): Record<string, unknown> {
  return {
    [`${at}.http.path`]: HC.path,
    [`${at}.http.method`]: HC.method,
    [`${at}.http.expectStatus`]: HC.expectStatus,
    [`${at}.interval`]: d(HC.intervalMs),
    [`${at}.timeout`]: d(HC.timeoutMs),
    [`${at}.jitter`]: HC.jitter,
    [`${at}.unhealthyThreshold`]: HC.unhealthyThreshold,
    [`${at}.healthyThreshold`]: HC.healthyThreshold,
  }
}

/**
 * Documented defaults by key path (`*` = any service name, `[]` = any list item). Keys whose
 * default depends on something else (node.name: the hostname; gossip.advertise: listen;
 * hashKey: client-ip with consistent-hash), or whose absence means "off" where 0 is not a valid
 * value (hashBalanceFactor, concurrency.maxInFlight), say so in their description instead.
 */
export const DOCUMENTED_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({
  'admin.listen': D.adminListen,
  'admin.watchConfig': D.watchConfig,
  'log.level': D.log.level,
  'log.destination': D.log.destination,
  'log.accessLog': D.log.accessLog,
  'log.format': D.log.format,
  'tracing.sampling': D.tracing.sampling,
  'tracing.serviceName': D.tracing.serviceName,
  'tracing.otlp.timeout': d(D.tracing.timeoutMs),
  'limits.maxHeaderSize': D.maxHeaderSize,
  'limits.headersTimeout': d(D.headersTimeoutMs),
  'limits.requestTimeout': d(D.requestTimeoutMs),
  'limits.keepAliveTimeout': d(D.keepAliveTimeoutMs),
  'limits.maxRequestsPerSocket': D.maxRequestsPerSocket,
  'limits.drainTimeout': d(D.drainTimeoutMs),
  'limits.drainGrace': d(D.drainGraceMs),
  'limits.maxHeaderCount': D.maxHeaderCount,
  'limits.maxUriLength': D.maxUriLength,
  'limits.maxConnections': D.maxConnections,
  'limits.requestBodyIdleTimeout': d(D.requestBodyIdleTimeoutMs),
  'limits.minRequestBodyRate': D.minRequestBodyRate,
  'limits.requestBufferSize': D.requestBufferSize,
  ...Object.fromEntries(Object.entries(D.http2).map(([k, v]) => [`limits.http2.${k}`, v])),
  'listeners[].routes[].timeout': d(D.routeTimeoutMs),
  'listeners[].routes[].explain': D.explain,
  'listeners[].routes[].retries.attempts': D.retryAttempts,
  'listeners[].routes[].retries.on': [...D.retryOn],
  'listeners[].routes[].retries.methods': [...D.idempotentMethods],
  'listeners[].routes[].retries.backoff.base': d(D.backoffBaseMs),
  'listeners[].routes[].retries.backoff.max': d(D.backoffMaxMs),
  'listeners[].routes[].retries.maxBufferedBody': D.maxBufferedBody,
  'services.*.strategy': D.strategy,
  'services.*.hashFallback': D.strategy,
  'services.*.latencyDecay': d(D.latencyDecayMs),
  'services.*.endpoints[].weight': D.endpointWeight,
  'services.*.preferLocalZone': D.preferLocalZone,
  'services.*.breaker.enabled': D.breakerEnabled,
  'services.*.breaker.errorThresholdPercentage': D.breaker.errorThresholdPercentage,
  'services.*.breaker.volumeThreshold': D.breaker.volumeThreshold,
  'services.*.breaker.resetTimeout': d(D.breaker.resetTimeoutMs),
  'services.*.breaker.rollingCountTimeout': d(D.breaker.rollingCountTimeoutMs),
  'services.*.breaker.rollingCountBuckets': D.breaker.rollingCountBuckets,
  ...healthCheckDefaults('services.*.healthCheck'),
  'services.*.healthCheck.remote': HC.remote,
  'services.*.outlierDetection.enabled': D.outlierEnabled,
  'services.*.outlierDetection.consecutiveErrors': D.outlier.consecutiveErrors,
  'services.*.outlierDetection.baseEjectionTime': d(D.outlier.baseEjectionTimeMs),
  'services.*.outlierDetection.maxEjectionTime': d(D.outlier.maxEjectionTimeMs),
  'services.*.outlierDetection.maxEjectionPercent': D.outlier.maxEjectionPercent,
  'services.*.panicThreshold': D.panicThreshold,
  'services.*.slowStart': d(D.slowStartMs),
  'services.*.concurrency.maxQueued': D.concurrency.maxQueued,
  'services.*.concurrency.queueTimeout': d(D.concurrency.queueTimeoutMs),
  'services.*.retryBudget.ratio': D.retryBudget.ratio,
  'services.*.retryBudget.minPerSecond': D.retryBudget.minPerSecond,
  'services.*.upstream.connections': D.upstream.connections,
  'services.*.upstream.connectTimeout': d(D.upstream.connectTimeoutMs),
  'services.*.upstream.keepAliveTimeout': d(D.upstream.keepAliveTimeoutMs),
  'services.*.upstream.maxConcurrentStreams': D.upstream.maxConcurrentStreams,
  'services.*.protocol': D.protocol,
  'gossip.joinTimeout': d(D.joinTimeoutMs),
  'gossip.cluster': D.gossip.cluster,
  'gossip.profile': D.gossip.profile,
  // the `lan` profile's values (the description of each says what `local` sets)
  'gossip.probeInterval': d(LAN.probeIntervalMs),
  'gossip.probeTimeout': d(LAN.probeTimeoutMs),
  'gossip.suspicionMult': LAN.suspicionMult,
  'gossip.retransmitMult': LAN.retransmitMult,
  'gossip.gossipInterval': d(LAN.gossipIntervalMs),
  'gossip.pushPullInterval': d(LAN.pushPullIntervalMs),
  'gossip.indirectChecks': D.gossip.indirectChecks,
  'gossip.suspicionMaxTimeoutMult': D.gossip.suspicionMaxTimeoutMult,
  'gossip.gossipNodes': D.gossip.gossipNodes,
  'gossip.tombstoneTimeout': d(D.gossip.tombstoneTimeoutMs),
  'gossip.lifeguard': D.gossip.lifeguard,
  'gossip.healthQuorum': D.gossip.healthQuorum,
  'gossip.mtu': GS.mtu,
  'gossip.maxMembers': GS.maxMembers,
  'gossip.maxInboundStreams': GS.maxInboundStreams,
  'gossip.maxStreamsPerSource': GS.maxStreamsPerSource,
  'gossip.streamHeaderTimeout': d(GS.streamHeaderTimeoutMs),
  'gossip.streamTimeout': d(GS.streamTimeoutMs),
  'tls.mode': D.tlsMode,
  'tls.watch': D.tlsWatch,
  'local.services[].weight': D.endpointWeight,
  ...healthCheckDefaults('local.services[].healthCheck'),
  'health.history.bucket': d(D.historyBucketMs),
  'health.history.retention': d(D.historyRetentionMs),
  'health.eventLoopLagThreshold': d(D.eventLoopLagThresholdMs),
  'alerts.rules[].for': d(D.alertRule.forMs),
  'alerts.rules[].minRequests': D.alertRule.minRequests,
  'alerts.webhooks[].timeout': d(D.webhook.timeoutMs),
  'alerts.webhooks[].retries': D.webhook.retries,
  'alerts.keep': D.alertsKeep,
})

/** Example values where the form of a value is not obvious from its type. */
export const DOCUMENTED_EXAMPLES: Readonly<Record<string, readonly unknown[]>> = Object.freeze({
  'node.name': ['node-a'],
  'node.zone': ['eu-west-1a'],
  'listeners[].listen': ['127.0.0.1:15001'],
  'listeners[].routes[].match.host': ['payments', '*.example.com'],
  'listeners[].routes[].match.pathPrefix': ['/api/'],
  'listeners[].routes[].retries.on': [['connect-failure', 'reset', '503']],
  'services.*.hashKey': ['header:x-user-id', 'cookie:session', 'path', 'client-ip'],
  'services.*.endpoints[].address': ['10.0.3.17:8080', '[fd00::17]:8080'],
  'gossip.listen': ['0.0.0.0:7946'],
  'gossip.advertise': ['10.0.3.17:7946'],
  'gossip.seeds': [['10.0.3.10:7946', 'dns+srv:_gossip._udp.commy.default.svc']],
  'local.services[].address': ['127.0.0.1:8080'],
  'alerts.rules[].above': ['5%', '250ms', '7d'],
})

type Json = Record<string, unknown>

/** Every property schema of `schema` by key path (the same walk as the defaults' paths). */
export function keyPaths(schema: unknown, at = '', out = new Map<string, Json>()): Map<string, Json> {
  const s = schema as Json
  if (s === null || typeof s !== 'object') return out
  for (const [name, sub] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
    const path = at === '' ? name : `${at}.${name}`
    out.set(path, sub)
    keyPaths(sub, path, out)
  }
  for (const sub of Object.values((s.patternProperties ?? {}) as Record<string, Json>)) keyPaths(sub, `${at}.*`, out)
  if (s.items !== undefined) keyPaths(s.items, `${at}[]`, out)
  for (const k of ['allOf', 'anyOf', 'oneOf']) for (const sub of (s[k] ?? []) as Json[]) keyPaths(sub, at, out)
  return out
}

/** The schema document `commy schema` prints: a deep copy of SidecarSchema with `$schema`, defaults and examples. */
export function schemaDocument(): Json {
  const doc = JSON.parse(JSON.stringify(SidecarSchema)) as Json
  const keys = keyPaths(doc)
  const place = (table: Readonly<Record<string, unknown>>, field: 'default' | 'examples') => {
    for (const [path, value] of Object.entries(table)) {
      const s = keys.get(path)
      if (s === undefined) throw new Error(`schema-doc: no key ${path} in the schema`)
      s[field] = value
    }
  }
  place(DOCUMENTED_DEFAULTS, 'default')
  place(DOCUMENTED_EXAMPLES, 'examples')
  return { $schema: SCHEMA_DIALECT, ...doc }
}
