/**
 * normalizeConfig: raw (schema-valid) config to the frozen SidecarConfig. Defaults, durations,
 * addresses, retry conditions, gossip keys and profiles, alert thresholds, and every issue a
 * schema cannot express (reported with its key path). Pure: no file, no socket.
 */
import t from 'tap'
import { hostname } from 'node:os'
import { DEFAULTS, isLoopback, normalizeConfig, splitHostPort, type PathIssue } from '../../src/config/normalize.js'
import type { RawSidecarConfig } from '../../src/config/schema.js'

const KEY16 = Buffer.alloc(16, 1).toString('base64')
const KEY32 = Buffer.alloc(32, 2).toString('base64')

/** The smallest valid raw config, with `extra` merged over it. */
function raw(extra: Record<string, unknown> = {}): RawSidecarConfig {
  return {
    listeners: [{ name: 'in', listen: '127.0.0.1:8080', routes: [{ match: {}, service: 'svc' }] }],
    services: { svc: { endpoints: [{ address: '127.0.0.1:9001' }] } },
    ...extra,
  }
}

function normalize(r: RawSidecarConfig, extraStrategies: readonly string[] = []) {
  const issues: PathIssue[] = []
  const config = normalizeConfig(r, 'test.yaml', '1.2.3', issues, extraStrategies)
  return { config, issues }
}

/** The message of the issue reported at `path`, if any. */
function issueAt(issues: PathIssue[], path: (string | number)[]): string | undefined {
  return issues.find((i) => JSON.stringify(i.path) === JSON.stringify(path))?.message
}

t.test('splitHostPort and isLoopback', async (t) => {
  t.strictSame(splitHostPort('127.0.0.1:80'), { host: '127.0.0.1', port: 80 })
  t.strictSame(splitHostPort('[::1]:8080'), { host: '::1', port: 8080 }, 'IPv6 brackets removed')
  t.strictSame(splitHostPort('example.com:0'), { host: 'example.com', port: 0 })
  t.ok(isLoopback('localhost'))
  t.ok(isLoopback('::1'))
  t.ok(isLoopback('127.1.2.3'))
  t.notOk(isLoopback('0.0.0.0'))
  t.notOk(isLoopback('10.0.0.1'))
  t.notOk(isLoopback('127.0.0.1.example.com'))
})

t.test('a minimal config gets every default', async (t) => {
  const { config, issues } = normalize(raw())
  t.strictSame(issues, [])
  t.equal(config.file, 'test.yaml')
  t.equal(config.version, '1.2.3')
  t.strictSame(config.node, { name: hostname(), zone: undefined })
  t.strictSame(config.admin, { listen: { host: '127.0.0.1', port: 15000 }, token: undefined, watchConfig: false })
  t.strictSame(config.log, { level: 'info', destination: 'stdout', accessLog: true, format: 'json' })
  t.strictSame(config.limits, {
    maxHeaderSize: DEFAULTS.maxHeaderSize,
    headersTimeoutMs: DEFAULTS.headersTimeoutMs,
    requestTimeoutMs: DEFAULTS.requestTimeoutMs,
    keepAliveTimeoutMs: DEFAULTS.keepAliveTimeoutMs,
    maxRequestsPerSocket: 0,
    drainTimeoutMs: DEFAULTS.drainTimeoutMs,
    drainGraceMs: DEFAULTS.drainGraceMs,
    maxHeaderCount: 100,
    maxUriLength: 8192,
    maxConnections: 10_000,
    requestBodyIdleTimeoutMs: 10_000,
    minRequestBodyRate: 240,
    requestBufferSize: 65_536,
    http2: { maxConcurrentStreams: 100, maxHeaderListSize: 16_384, initialWindowSize: 65_535, maxResetsPerSecond: 100, maxControlFramesPerSecond: 100, maxInvalidFrames: 100, maxRejectedStreams: 100 },
  })
  t.equal(config.gossip, undefined, 'no gossip section, no gossip')
  t.strictSame(config.local, { services: [] })
  t.strictSame(config.health, { historyBucketMs: 10_000, historyRetentionMs: 3_600_000, eventLoopLagThresholdMs: 100 })
  t.strictSame(config.alerts, { rules: [], webhooks: [], keep: 100 })

  const svc = config.services.svc!
  t.equal(svc.name, 'svc')
  t.equal(svc.strategy, 'round-robin')
  t.equal(svc.hashKey, undefined)
  t.equal(svc.hashFallback, 'round-robin')
  t.equal(svc.hashBalanceFactor, 0)
  t.equal(svc.latencyDecayMs, DEFAULTS.latencyDecayMs)
  t.strictSame(svc.endpoints, [{ address: '127.0.0.1:9001', host: '127.0.0.1', port: 9001, weight: 1, zone: undefined, tags: [] }])
  t.strictSame(svc.tags, [])
  t.equal(svc.preferLocalZone, false)
  t.strictSame(svc.breaker, { enabled: true, ...DEFAULTS.breaker })
  t.equal(svc.healthCheck, undefined)
  t.strictSame(svc.outlierDetection, { enabled: true, ...DEFAULTS.outlier })
  t.equal(svc.panicThreshold, 50)
  t.equal(svc.slowStartMs, 0)
  t.strictSame(svc.concurrency, { maxInFlight: 0, maxQueued: 0, queueTimeoutMs: 1_000 })
  t.strictSame(svc.retryBudget, DEFAULTS.retryBudget)
  t.strictSame(svc.upstream, DEFAULTS.upstream)

  const listener = config.listeners[0]!
  t.equal(listener.name, 'in')
  t.strictSame(listener.listen, { host: '127.0.0.1', port: 8080 })
  const route = listener.routes[0]!
  t.equal(route.name, 'in-0', 'an unnamed route is named after its listener and index')
  t.strictSame(route.match, { host: undefined, pathPrefix: undefined, headers: [] })
  t.equal(route.timeoutMs, 15_000, 'a route without timeout gets 15 s (Envoy\'s default)')
  t.equal(route.strategy, undefined)
  t.equal(route.explain, false)
  t.strictSame(route.retries, {
    attempts: 1,
    perTryTimeoutMs: 0,
    on: ['connect-failure', 'reset'],
    methods: DEFAULTS.idempotentMethods,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
    maxBufferedBody: 64 * 1024,
  })
})

t.test('the result is deeply frozen', async (t) => {
  const { config } = normalize(raw({ gossip: { listen: '127.0.0.1:7946', key: KEY16 } }))
  t.ok(Object.isFrozen(config))
  t.ok(Object.isFrozen(config.services.svc!.endpoints[0]))
  t.ok(Object.isFrozen(config.listeners[0]!.routes[0]!.retries.on))
  t.ok(Object.isFrozen(config.gossip!.keys))
  t.notOk(Object.isFrozen(config.gossip!.keys[0]), 'key buffers are left alone (a Buffer cannot be frozen)')
  t.throws(() => {
    ;(config.limits as { drainTimeoutMs: number }).drainTimeoutMs = 1
  })
})

t.test('durations: units, plain numbers as ms, and a bad one reported with its path', async (t) => {
  const { config, issues } = normalize(
    raw({
      limits: { headersTimeout: '2s', requestTimeout: '1.5m', keepAliveTimeout: 250, drainTimeout: '1h', drainGrace: '0ms' },
      services: { svc: { endpoints: [], latencyDecay: 'soon', breaker: { resetTimeout: '30s', rollingCountTimeout: '20s' } } },
    }),
  )
  t.equal(config.limits.headersTimeoutMs, 2_000)
  t.equal(config.limits.requestTimeoutMs, 90_000)
  t.equal(config.limits.keepAliveTimeoutMs, 250)
  t.equal(config.limits.drainTimeoutMs, 3_600_000)
  t.equal(config.limits.drainGraceMs, 0)
  t.equal(config.services.svc!.breaker.resetTimeoutMs, 30_000)
  t.equal(config.services.svc!.breaker.rollingCountTimeoutMs, 20_000)
  t.equal(config.services.svc!.latencyDecayMs, DEFAULTS.latencyDecayMs, 'a bad duration keeps the default')
  t.equal(issueAt(issues, ['services', 'svc', 'latencyDecay']), '"soon" is not a duration (use 500ms, 2s, 1m, 1h)')
  t.equal(issues.length, 1)
})

t.test('every service field given', async (t) => {
  const { config, issues } = normalize(
    raw({
      services: {
        svc: {
          strategy: 'consistent-hash',
          hashKey: 'header:x-user',
          hashFallback: 'random',
          hashBalanceFactor: 1.25,
          endpoints: [{ address: '[::1]:9002', weight: 3, zone: 'a', tags: ['canary'] }],
          tags: ['team'],
          preferLocalZone: true,
          breaker: { enabled: false, errorThresholdPercentage: 10, volumeThreshold: 3, rollingCountBuckets: 5 },
          healthCheck: { tcp: {}, interval: '1s' },
          outlierDetection: { enabled: false, consecutiveErrors: 2, baseEjectionTime: '1s', maxEjectionTime: '10s', maxEjectionPercent: 100 },
          panicThreshold: 0,
          slowStart: '30s',
          concurrency: { maxInFlight: 8, maxQueued: 16, queueTimeout: '50ms' },
          retryBudget: { ratio: 0.5, minPerSecond: 1 },
          upstream: { connections: 4, connectTimeout: '1s', keepAliveTimeout: '2s', maxConcurrentStreams: 8 },
          protocol: 'http2',
        },
      },
    }),
  )
  t.strictSame(issues, [])
  const s = config.services.svc!
  t.equal(s.strategy, 'consistent-hash')
  t.equal(s.hashKey, 'header:x-user')
  t.equal(s.hashFallback, 'random')
  t.equal(s.hashBalanceFactor, 1.25)
  t.strictSame(s.endpoints, [{ address: '[::1]:9002', host: '::1', port: 9002, weight: 3, zone: 'a', tags: ['canary'] }])
  t.strictSame(s.tags, ['team'])
  t.equal(s.preferLocalZone, true)
  t.strictSame(s.breaker, { enabled: false, errorThresholdPercentage: 10, volumeThreshold: 3, resetTimeoutMs: 10_000, rollingCountTimeoutMs: 10_000, rollingCountBuckets: 5 })
  t.equal(s.healthCheck!.kind, 'tcp')
  t.strictSame(s.outlierDetection, { enabled: false, consecutiveErrors: 2, baseEjectionTimeMs: 1_000, maxEjectionTimeMs: 10_000, maxEjectionPercent: 100 })
  t.equal(s.panicThreshold, 0)
  t.equal(s.slowStartMs, 30_000)
  t.strictSame(s.concurrency, { maxInFlight: 8, maxQueued: 16, queueTimeoutMs: 50 })
  t.strictSame(s.retryBudget, { ratio: 0.5, minPerSecond: 1 })
  t.strictSame(s.upstream, { connections: 4, connectTimeoutMs: 1_000, keepAliveTimeoutMs: 2_000, maxConcurrentStreams: 8 })
  t.equal(s.protocol, 'http2')
})

t.test('consistent-hash: hashKey defaults to client-ip; hashKey elsewhere is an issue unless a route hashes', async (t) => {
  const ch = normalize(raw({ services: { svc: { strategy: 'consistent-hash', endpoints: [] } } }))
  t.equal(ch.config.services.svc!.hashKey, 'client-ip')

  const stray = normalize(raw({ services: { svc: { hashKey: 'path', endpoints: [] } } }))
  t.match(issueAt(stray.issues, ['services', 'svc', 'hashKey']), /only used with strategy: consistent-hash/)

  const byRoute = normalize(
    raw({
      listeners: [{ name: 'in', listen: '127.0.0.1:8080', routes: [{ match: {}, service: 'svc', strategy: 'consistent-hash' }] }],
      services: { svc: { hashKey: 'path', endpoints: [] } },
    }),
  )
  t.strictSame(byRoute.issues, [], 'a route sending the service through consistent-hash uses its hashKey')
  t.equal(byRoute.config.services.svc!.hashKey, 'path')
})

t.test('strategies: unknown ones reported on services, fallbacks and routes; registered ones accepted', async (t) => {
  const bad = normalize(
    raw({
      listeners: [{ name: 'in', listen: '127.0.0.1:8080', routes: [{ match: {}, service: 'svc', strategy: 'fancy' }] }],
      services: { svc: { strategy: 'fancy', hashFallback: 'fancier', endpoints: [] } },
    }),
  )
  t.match(issueAt(bad.issues, ['services', 'svc', 'strategy']), /^unknown strategy "fancy" \(one of: round-robin, /)
  t.match(issueAt(bad.issues, ['services', 'svc', 'hashFallback']), /unknown strategy "fancier"/)
  t.match(issueAt(bad.issues, ['listeners', 0, 'routes', 0, 'strategy']), /unknown strategy "fancy"/)

  const registered = normalize(raw({ services: { svc: { strategy: 'fancy', endpoints: [] } } }), ['fancy'])
  t.strictSame(registered.issues, [])
  t.equal(registered.config.services.svc!.strategy, 'fancy')
})

t.test('addresses: out-of-range ports and duplicate endpoints', async (t) => {
  const { issues } = normalize(
    raw({
      listeners: [{ name: 'in', listen: '127.0.0.1:70000', routes: [{ match: {}, service: 'svc' }] }],
      services: { svc: { endpoints: [{ address: '127.0.0.1:9001' }, { address: '127.0.0.1:9001' }, { address: '127.0.0.1:-1' }] } },
    }),
  )
  t.equal(issueAt(issues, ['listeners', 0, 'listen']), 'port 70000 is out of range')
  t.equal(issueAt(issues, ['services', 'svc', 'endpoints', 1, 'address']), 'duplicate endpoint 127.0.0.1:9001')
  t.equal(issueAt(issues, ['services', 'svc', 'endpoints', 2, 'address']), 'port -1 is out of range')
  t.equal(issues.length, 3)
})

t.test('admin: non-loopback needs a token; the token and watchConfig are kept', async (t) => {
  const open = normalize(raw({ admin: { listen: '0.0.0.0:15000' } }))
  t.equal(issueAt(open.issues, ['admin', 'listen']), 'binding the admin port to non-loopback 0.0.0.0 requires admin.token')
  const guarded = normalize(raw({ admin: { listen: '0.0.0.0:15001', token: 'secret', watchConfig: true } }))
  t.strictSame(guarded.issues, [])
  t.strictSame(guarded.config.admin, { listen: { host: '0.0.0.0', port: 15001 }, token: 'secret', watchConfig: true })
  const loop = normalize(raw({ admin: { listen: 'localhost:0' } }))
  t.strictSame(loop.issues, [], 'loopback needs no token')
})

t.test('node, log and limits given', async (t) => {
  const { config } = normalize(
    raw({ node: { name: 'n1', zone: 'z' }, log: { level: 'debug', destination: 'stderr', accessLog: false, format: 'text' }, limits: { maxHeaderSize: 8192, maxRequestsPerSocket: 100 } }),
  )
  t.strictSame(config.node, { name: 'n1', zone: 'z' })
  t.strictSame(config.log, { level: 'debug', destination: 'stderr', accessLog: false, format: 'text' })
  t.equal(config.limits.maxHeaderSize, 8192)
  t.equal(config.limits.maxRequestsPerSocket, 100)
})

t.test('health checks: http defaults, expectStatus ranges, both kinds at once, interval 0', async (t) => {
  const { config, issues } = normalize(
    raw({
      services: {
        a: { endpoints: [], healthCheck: { http: {} } },
        b: { endpoints: [], healthCheck: { http: { path: '/ready', method: 'HEAD', expectStatus: '204', expectBody: 'ok', headers: { host: 'b' } }, timeout: '250ms', jitter: 0, unhealthyThreshold: 1, healthyThreshold: 5, remote: true } },
        c: { endpoints: [], healthCheck: { http: { expectStatus: '200-299' }, tcp: {}, interval: 0 } },
      },
      listeners: [{ name: 'in', listen: '127.0.0.1:8080', routes: [{ match: {}, service: 'a' }] }],
    }),
  )
  const D = DEFAULTS.healthCheck
  t.strictSame(config.services.a!.healthCheck, {
    kind: 'http',
    path: '/health',
    method: 'GET',
    expectStatus: [200, 399],
    expectBody: undefined,
    headers: {},
    intervalMs: D.intervalMs,
    timeoutMs: D.timeoutMs,
    jitter: D.jitter,
    unhealthyThreshold: D.unhealthyThreshold,
    healthyThreshold: D.healthyThreshold,
    remote: false,
  })
  t.strictSame(config.services.b!.healthCheck, {
    kind: 'http',
    path: '/ready',
    method: 'HEAD',
    expectStatus: [204, 204],
    expectBody: 'ok',
    headers: { host: 'b' },
    intervalMs: D.intervalMs,
    timeoutMs: 250,
    jitter: 0,
    unhealthyThreshold: 1,
    healthyThreshold: 5,
    remote: true,
  })
  t.equal(config.services.c!.healthCheck!.kind, 'tcp', 'tcp wins when both are given')
  t.strictSame(config.services.c!.healthCheck!.expectStatus, [200, 299])
  t.equal(issueAt(issues, ['services', 'c', 'healthCheck']), 'a health check is either http or tcp, not both')
  t.equal(issueAt(issues, ['services', 'c', 'healthCheck', 'interval']), 'interval must be greater than 0')
  t.equal(issues.length, 2)
})

t.test('routes: names, match normalization, timeouts, undefined services', async (t) => {
  const { config, issues } = normalize(
    raw({
      listeners: [
        {
          name: 'in',
          listen: '127.0.0.1:8080',
          routes: [
            { name: 'api', match: { host: 'API.Example.com:8080', pathPrefix: '/api', headers: { 'X-Tenant': 'a' } }, service: 'svc', timeout: '3s', tags: ['t'], explain: true },
            { match: {}, service: 'ghost' },
          ],
        },
      ],
    }),
  )
  const [api, ghost] = config.listeners[0]!.routes
  t.equal(api!.name, 'api')
  t.strictSame(api!.match, { host: 'api.example.com', pathPrefix: '/api', headers: [['x-tenant', 'a']] }, 'host lowercased without port, header names lowercased')
  t.equal(api!.timeoutMs, 3_000)
  t.strictSame(api!.tags, ['t'])
  t.equal(api!.explain, true)
  t.equal(ghost!.name, 'in-1')
  t.equal(issueAt(issues, ['listeners', 0, 'routes', 1, 'service']), 'service "ghost" is not defined under services')
})

t.test('retries: 5xx expands, numeric strings become statuses, duplicates collapse', async (t) => {
  const { config } = normalize(
    raw({
      listeners: [
        {
          name: 'in',
          listen: '127.0.0.1:8080',
          routes: [
            {
              match: {},
              service: 'svc',
              retries: { attempts: 3, perTryTimeout: '200ms', on: ['5xx', '503', 429, 'reset'], methods: ['GET', 'POST'], backoff: { base: '10ms', max: '1s' }, maxBufferedBody: 1024 },
            },
          ],
        },
      ],
    }),
  )
  t.strictSame(config.listeners[0]!.routes[0]!.retries, {
    attempts: 3,
    perTryTimeoutMs: 200,
    on: [500, 502, 503, 504, 429, 'reset'],
    methods: ['GET', 'POST'],
    backoffBaseMs: 10,
    backoffMaxMs: 1_000,
    maxBufferedBody: 1024,
  })
})

t.test('listeners: duplicate names and addresses', async (t) => {
  const { issues } = normalize(
    raw({
      listeners: [
        { name: 'in', listen: '127.0.0.1:8080', routes: [] },
        { name: 'in', listen: '127.0.0.1:8080', routes: [] },
      ],
    }),
  )
  t.equal(issueAt(issues, ['listeners', 1, 'name']), 'duplicate listener name "in"')
  t.equal(issueAt(issues, ['listeners', 1, 'listen']), 'another listener already binds 127.0.0.1:8080')
  t.equal(issues.length, 2)
})

t.test('gossip: lan defaults, advertise defaults to listen', async (t) => {
  const { config, issues } = normalize(raw({ gossip: { listen: '127.0.0.1:7946' } }))
  t.strictSame(issues, [])
  t.strictSame(config.gossip, {
    listen: { host: '127.0.0.1', port: 7946 },
    advertise: { host: '127.0.0.1', port: 7946 },
    seeds: [],
    joinTimeoutMs: 30_000,
    keys: [],
    cluster: 'commy',
    profile: 'lan',
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    retransmitMult: 4,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    pushPullIntervalMs: 30_000,
    tombstoneTimeoutMs: 60_000,
    mtu: 1400,
    lifeguard: true,
    healthQuorum: 2,
    maxMembers: 1024,
    maxInboundStreams: 64,
    maxStreamsPerSource: 16,
    streamHeaderTimeoutMs: 2_000,
    streamTimeoutMs: 10_000,
  })
})

t.test('gossip: stream limits are set, and the header deadline fits in the frame deadline', async (t) => {
  const set = normalize(raw({ gossip: { listen: '127.0.0.1:0', maxMembers: 5000, maxInboundStreams: 32, maxStreamsPerSource: 4, streamHeaderTimeout: '1s', streamTimeout: '5s' } }))
  t.strictSame(set.issues, [])
  t.match(set.config.gossip, { maxMembers: 5000, maxInboundStreams: 32, maxStreamsPerSource: 4, streamHeaderTimeoutMs: 1000, streamTimeoutMs: 5000 })
  const bad = normalize(raw({ gossip: { listen: '127.0.0.1:0', streamHeaderTimeout: '3s', streamTimeout: '2s' } }))
  t.match(bad.issues, [{ path: ['gossip', 'streamTimeout'] }])
})

t.test('gossip: the local profile is faster; explicit values win', async (t) => {
  const local = normalize(raw({ gossip: { listen: '127.0.0.1:0', profile: 'local' } })).config.gossip!
  t.equal(local.profile, 'local')
  t.equal(local.probeIntervalMs, 200)
  t.equal(local.probeTimeoutMs, 100)
  t.equal(local.suspicionMult, 3)
  t.equal(local.retransmitMult, 2)
  t.equal(local.gossipIntervalMs, 100)
  t.equal(local.pushPullIntervalMs, 5_000)

  const given = normalize(
    raw({
      gossip: {
        listen: '0.0.0.0:7946',
        advertise: '10.0.0.5:7000',
        seeds: ['10.0.0.6:7946'],
        cluster: 'prod',
        profile: 'local',
        probeInterval: '2s',
        probeTimeout: '1s',
        indirectChecks: 1,
        suspicionMult: 9,
        suspicionMaxTimeoutMult: 2,
        retransmitMult: 7,
        gossipInterval: '50ms',
        gossipNodes: 5,
        pushPullInterval: '1m',
        tombstoneTimeout: '5m',
        mtu: 9000,
        lifeguard: false,
        healthQuorum: 1,
      },
    }),
  ).config.gossip!
  t.strictSame(given.advertise, { host: '10.0.0.5', port: 7000 })
  t.strictSame(given.seeds, ['10.0.0.6:7946'])
  t.equal(given.cluster, 'prod')
  t.equal(given.probeIntervalMs, 2_000)
  t.equal(given.probeTimeoutMs, 1_000)
  t.equal(given.indirectChecks, 1)
  t.equal(given.suspicionMult, 9)
  t.equal(given.suspicionMaxTimeoutMult, 2)
  t.equal(given.retransmitMult, 7)
  t.equal(given.gossipIntervalMs, 50)
  t.equal(given.gossipNodes, 5)
  t.equal(given.pushPullIntervalMs, 60_000)
  t.equal(given.tombstoneTimeoutMs, 300_000)
  t.equal(given.mtu, 9000)
  t.equal(given.lifeguard, false)
  t.equal(given.healthQuorum, 1)
})

t.test('gossip keys: key then keys, each 16/24/32 bytes of canonical base64', async (t) => {
  const ok = normalize(raw({ gossip: { listen: '127.0.0.1:0', key: KEY16, keys: [KEY32] } }))
  t.strictSame(ok.issues, [])
  t.strictSame(
    ok.config.gossip!.keys.map((k) => k.length),
    [16, 32],
    'the primary key first',
  )
  const emptyKey = normalize(raw({ gossip: { listen: '127.0.0.1:0', key: '', keys: [KEY16] } }))
  t.strictSame(emptyKey.issues, [], 'an empty key is no key')
  t.equal(emptyKey.config.gossip!.keys.length, 1)

  const short = Buffer.alloc(8).toString('base64')
  const bad = normalize(raw({ gossip: { listen: '127.0.0.1:0', key: short, keys: [KEY16, 'not base64!'] } }))
  const message = 'a gossip key is base64 of 16, 24 or 32 bytes (make one with `commy keygen`)'
  t.equal(issueAt(bad.issues, ['gossip', 'key']), message)
  t.equal(issueAt(bad.issues, ['gossip', 'keys', 1]), message, 'keys are indexed within keys')
  t.equal(bad.config.gossip!.keys.length, 1, 'only the good key is kept')

  const onlyKeys = normalize(raw({ gossip: { listen: '127.0.0.1:0', keys: [KEY16, short] } }))
  t.equal(issueAt(onlyKeys.issues, ['gossip', 'keys', 1]), message)
})

t.test('local services: address split, defaults, health check', async (t) => {
  const { config, issues } = normalize(
    raw({
      local: {
        services: [
          { name: 'web', address: '127.0.0.1:3000' },
          { name: 'api', address: '127.0.0.1:3001', weight: 2, tags: ['v2'], healthCheck: { tcp: {} } },
          { name: 'bad', address: '127.0.0.1:99999' },
        ],
      },
    }),
  )
  const [web, api] = config.local.services
  t.strictSame(web, { name: 'web', address: '127.0.0.1:3000', host: '127.0.0.1', port: 3000, weight: 1, tags: [], healthCheck: undefined, allow: undefined, tls: undefined })
  t.equal(api!.weight, 2)
  t.strictSame(api!.tags, ['v2'])
  t.equal(api!.healthCheck!.kind, 'tcp')
  t.equal(issueAt(issues, ['local', 'services', 2, 'address']), 'port 99999 is out of range')
})

t.test('health history: given values, and retention shorter than a bucket', async (t) => {
  const given = normalize(raw({ health: { history: { bucket: '1s', retention: '1m' }, eventLoopLagThreshold: '50ms' } }))
  t.strictSame(given.issues, [])
  t.strictSame(given.config.health, { historyBucketMs: 1_000, historyRetentionMs: 60_000, eventLoopLagThresholdMs: 50 })

  const message = 'retention must be at least one bucket, and bucket greater than 0'
  t.equal(issueAt(normalize(raw({ health: { history: { bucket: '1m', retention: '1s' } } })).issues, ['health', 'history']), message)
  t.equal(issueAt(normalize(raw({ health: { history: { bucket: 0 } } })).issues, ['health', 'history']), message)
})

t.test('alert rules: error-rate as fraction, percent number or percent string; p99 as a duration', async (t) => {
  const { config, issues } = normalize(
    raw({
      alerts: {
        keep: 5,
        rules: [
          { name: 'r0', when: 'error-rate', above: 0.05 },
          { name: 'r1', when: 'error-rate', above: 5, for: '30s', service: 'svc', severity: 'critical', minRequests: 1 },
          { name: 'r2', when: 'error-rate', above: '2.5%' },
          { name: 'r3', when: 'p99-latency', above: '250ms' },
          { name: 'r4', when: 'p99-latency', above: 100 },
          { name: 'r5', when: 'no-healthy-endpoint' },
        ],
      },
    }),
  )
  t.strictSame(issues, [])
  const [r0, r1, r2, r3, r4, r5] = config.alerts.rules
  t.equal(r0!.above, 0.05, 'at most 1: already a fraction')
  t.strictSame(r1, { name: 'r1', when: 'error-rate', above: 0.05, forMs: 30_000, service: 'svc', severity: 'critical', minRequests: 1 })
  t.equal(r2!.above, 0.025)
  t.equal(r3!.above, 250)
  t.equal(r4!.above, 100)
  t.strictSame(r5, { name: 'r5', when: 'no-healthy-endpoint', above: 0, forMs: 0, service: undefined, severity: 'critical', minRequests: 10 })
  t.equal(r0!.severity, 'warning', 'rules other than no-healthy-endpoint default to warning')
  t.equal(config.alerts.keep, 5)
})

t.test('alert rules: missing or malformed thresholds and unknown services', async (t) => {
  const { issues } = normalize(
    raw({
      alerts: {
        rules: [
          { name: 'a', when: 'error-rate' },
          { name: 'b', when: 'error-rate', above: '5' },
          { name: 'c', when: 'p99-latency', above: '5%' },
          { name: 'd', when: 'p99-latency', above: 'slow' },
          { name: 'e', when: 'no-healthy-endpoint', service: 'ghost' },
        ],
      },
    }),
  )
  t.equal(issueAt(issues, ['alerts', 'rules', 0, 'above']), 'rule "error-rate" needs a threshold in above')
  t.equal(issueAt(issues, ['alerts', 'rules', 1, 'above']), 'error-rate threshold is a percentage such as 5%')
  t.equal(issueAt(issues, ['alerts', 'rules', 2, 'above']), 'p99-latency threshold is a duration such as 250ms')
  t.equal(issueAt(issues, ['alerts', 'rules', 3, 'above']), 'p99-latency threshold is a duration such as 250ms')
  t.equal(issueAt(issues, ['alerts', 'rules', 4, 'service']), 'service "ghost" is not defined under services')
  t.equal(issues.length, 5)
})

t.test('alert webhooks: defaults and given values', async (t) => {
  const { config } = normalize(
    raw({
      alerts: {
        webhooks: [{ url: 'http://127.0.0.1:1/hook' }, { url: 'http://127.0.0.1:2/hook', timeout: '5s', retries: 0, headers: { authorization: 'Bearer x' } }],
      },
    }),
  )
  t.strictSame(config.alerts.webhooks, [
    { url: 'http://127.0.0.1:1/hook', timeoutMs: 2_000, retries: 3, headers: {} },
    { url: 'http://127.0.0.1:2/hook', timeoutMs: 5_000, retries: 0, headers: { authorization: 'Bearer x' } },
  ])
})

t.test('mesh security and platform keys: defaults, and what needs tls', async (t) => {
  const none = normalize(raw())
  t.equal(none.config.tls, undefined)
  t.equal(none.config.inbound, undefined)
  t.equal(none.config.probes, undefined)
  t.equal(none.config.listeners[0]!.tls, undefined)

  const files = { ca: '/t/ca.pem', cert: '/t/cert.pem', key: '/t/key.pem' }
  const full = normalize(
    raw({
      tls: files,
      inbound: { listen: '0.0.0.0:15006', advertise: '10.0.0.5:15006' },
      probes: { listen: '0.0.0.0:4191' },
      local: { services: [{ name: 'users', address: '127.0.0.1:8080', allow: ['payments'], tls: { cert: '/u/c.pem', key: '/u/k.pem' } }] },
      listeners: [{ name: 'in', listen: '127.0.0.1:8080', routes: [{ match: {}, service: 'svc' }], tls: { cert: '/l/c.pem', key: '/l/k.pem' } }],
    }),
  )
  t.strictSame(full.issues, [])
  t.strictSame(full.config.tls, { ...files, mode: 'strict', watch: true }, 'strict and watched by default')
  t.strictSame(full.config.inbound, { listen: { host: '0.0.0.0', port: 15006 }, advertise: { host: '10.0.0.5', port: 15006 } })
  t.strictSame(full.config.probes, { listen: { host: '0.0.0.0', port: 4191 } })
  t.strictSame(full.config.local.services[0]!.allow, ['payments'])
  t.strictSame(full.config.local.services[0]!.tls, { cert: '/u/c.pem', key: '/u/k.pem' })
  t.strictSame(full.config.listeners[0]!.tls, { cert: '/l/c.pem', key: '/l/k.pem' })

  const noTls = normalize(
    raw({
      inbound: { listen: '0.0.0.0:15006' },
      listeners: [{ name: 'in', listen: '127.0.0.1:8080', routes: [{ match: {}, service: 'svc' }], tls: { cert: '/l/c.pem', key: '/l/k.pem' } }],
    }),
  )
  t.match(issueAt(noTls.issues, ['inbound']), /mTLS only: it needs tls/)
  t.match(issueAt(noTls.issues, ['listeners', 0, 'tls']), /needs the mesh tls/)

  const halfClient = normalize(raw({ services: { svc: { endpoints: [{ address: '127.0.0.1:9001' }], tls: { cert: '/c.pem' } } } }))
  t.match(issueAt(halfClient.issues, ['services', 'svc', 'tls']), /both cert and key/)

  const g = normalize(raw({ gossip: { listen: '127.0.0.1:7946', seeds: ['dns+srv:_gossip._udp.commy.default.svc.cluster.local'], joinTimeout: '5s' } }))
  t.strictSame(g.issues, [])
  t.equal(g.config.gossip!.joinTimeoutMs, 5000)
})
