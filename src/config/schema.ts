/**
 * The sidecar.yaml schema: one source of truth for the raw file's TypeScript types and the
 * JSON Schema shipped in `schema/sidecar.schema.json` (written by `commy schema`).
 * Unknown keys are errors everywhere (additionalProperties: false).
 */
import { Type, type Static, type TProperties, type ObjectOptions } from '@sinclair/typebox'

const Strict = <T extends TProperties>(props: T, opts: ObjectOptions = {}) =>
  Type.Object(props, { additionalProperties: false, ...opts })

/** `500ms`, `2s`, `1.5m`, `1h`, or a number of milliseconds. */
export const Duration = Type.Union([
  Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$', description: 'duration: 500ms, 2s, 1m, 1h (or a number of ms)' }),
  Type.Number({ minimum: 0 }),
], { description: 'a duration such as 500ms, 2s, 1m, 1h' })

/** `host:port`, `[v6]:port`. */
export const Address = Type.String({
  pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$',
  description: 'host:port',
})

/** An endpoint: `host:port`, or a Unix domain socket `unix:/path`. */
export const EndpointAddress = Type.Union([Address, Type.String({ pattern: '^unix:/.+$', description: 'unix:/path/to/app.sock (a Unix domain socket)' })], {
  description: 'host:port, or unix:/path/to/app.sock',
})

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$', description: 'a name: letters, digits, _ . -' })
const Tags = Type.Array(Type.String({ minLength: 1 }), { description: 'tags (capabilities)' })
const Percent = Type.Number({ minimum: 0, maximum: 100 })

export const BUILTIN_STRATEGIES = ['round-robin', 'weighted', 'least-connections', 'latency', 'random', 'consistent-hash'] as const

/** A built-in strategy or one registered in code (checked against the registry in normalize). */
export const Strategy = Type.String({
  pattern: '^[a-z][a-z0-9-]*$',
  examples: [...BUILTIN_STRATEGIES],
  description: 'round-robin | weighted | least-connections | latency | random | consistent-hash (or a strategy registered in code)',
})

export const NodeSchema = Strict({
  name: Type.Optional(Name),
  zone: Type.Optional(Type.String({ minLength: 1 })),
})

export const AdminSchema = Strict({
  listen: Type.Optional(Address),
  token: Type.Optional(Type.String({ minLength: 16, description: 'bearer token; required when listen is not loopback' })),
  watchConfig: Type.Optional(Type.Boolean({ description: 'reload when the config file changes' })),
})

export const LogSchema = Strict({
  level: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))),
  destination: Type.Optional(Type.String({ minLength: 1, description: 'stdout, stderr, or a file path' })),
  accessLog: Type.Optional(Type.Boolean()),
})

export const LimitsSchema = Strict({
  maxHeaderSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576 })),
  headersTimeout: Type.Optional(Duration),
  requestTimeout: Type.Optional(Duration),
  keepAliveTimeout: Type.Optional(Duration),
  maxRequestsPerSocket: Type.Optional(Type.Integer({ minimum: 0 })),
  drainTimeout: Type.Optional(Duration),
  drainGrace: Type.Optional(Duration),
  maxHeaderCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'request headers per request; more get 431' })),
  maxUriLength: Type.Optional(Type.Integer({ minimum: 256, maximum: 1048576, description: 'request-target bytes; longer get 414' })),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, description: 'open client connections per listener; more are refused and counted' })),
  requestBodyIdleTimeout: Type.Optional(Duration),
  minRequestBodyRate: Type.Optional(Type.Integer({ minimum: 0, description: 'bytes/s a request body must average (after a 5 s grace); 0 = no minimum' })),
  requestBufferSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 16777216, description: 'bytes of a request body read before an endpoint is picked (a longer body: this head, then the rest streamed); 0 = stream at once' })),
  http2: Type.Optional(
    Strict(
      {
        maxConcurrentStreams: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'streams open at once per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused' })),
        maxHeaderListSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576, description: 'bytes of one decoded header block (HEADERS + CONTINUATION); larger: the stream is reset' })),
        initialWindowSize: Type.Optional(Type.Integer({ minimum: 65535, maximum: 2147483647, description: 'flow-control window per stream, bytes (SETTINGS_INITIAL_WINDOW_SIZE)' })),
        maxResetsPerSecond: Type.Optional(Type.Integer({ minimum: 1, description: 'streams a client may reset before their response ended, per connection per second (rapid reset); more: GOAWAY ENHANCE_YOUR_CALM' })),
        maxControlFramesPerSecond: Type.Optional(Type.Integer({ minimum: 1, description: 'PING and SETTINGS frames per connection per second; more: GOAWAY ENHANCE_YOUR_CALM' })),
        maxInvalidFrames: Type.Optional(Type.Integer({ minimum: 0, description: 'invalid frames per connection before it is closed' })),
        maxRejectedStreams: Type.Optional(Type.Integer({ minimum: 0, description: 'refused streams (past maxConcurrentStreams) per connection before it is closed' })),
      },
      { description: 'HTTP/2 client connections (h2c on every listener, ALPN h2 on the inbound one): streams, header block and flood bounds' },
    ),
  ),
})

export const RetryOn = Type.Union(
  [
    Type.Literal('connect-failure'),
    Type.Literal('reset'),
    Type.Literal('timeout'),
    Type.Literal('5xx'),
    Type.Literal('502'),
    Type.Literal('503'),
    Type.Literal('504'),
    Type.Literal('unavailable'),
    Type.Literal('resource-exhausted'),
    Type.Literal('cancelled'),
    Type.Literal('deadline-exceeded'),
  ],
  { description: 'what to retry on (unavailable, resource-exhausted, cancelled, deadline-exceeded: gRPC calls answered trailers-only with that grpc-status)' },
)

export const RetriesSchema = Strict({
  attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'total tries, first one included' })),
  perTryTimeout: Type.Optional(Duration),
  on: Type.Optional(Type.Array(Type.Union([RetryOn, Type.Integer({ minimum: 500, maximum: 599 })]))),
  methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { description: 'methods that may be retried (default: idempotent ones)' })),
  backoff: Type.Optional(Strict({ base: Type.Optional(Duration), max: Type.Optional(Duration) })),
  maxBufferedBody: Type.Optional(Type.Integer({ minimum: 0, description: 'request bodies up to this many bytes are buffered so they can be replayed' })),
})

export const RouteSchema = Strict({
  name: Type.Optional(Name),
  match: Strict({
    host: Type.Optional(Type.String({ minLength: 1, description: 'Host header (port ignored); *.example.com wildcards allowed' })),
    pathPrefix: Type.Optional(Type.String({ pattern: '^/' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    grpc: Type.Optional(
      Strict(
        {
          service: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]*$', description: 'fully-qualified gRPC service, e.g. payments.v1.Ledger' }),
          method: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'one method of it (default: every method)' })),
        },
        { description: 'gRPC calls (content-type application/grpc*) to this service (path /service/ or /service/method); instead of pathPrefix' },
      ),
    ),
  }),
  service: Name,
  timeout: Type.Optional(Duration),
  retries: Type.Optional(RetriesSchema),
  strategy: Type.Optional(Strategy),
  tags: Type.Optional(Tags),
  explain: Type.Optional(Type.Boolean({ description: 'add x-commy-explain: why this endpoint was picked' })),
})

const PemFile = Type.String({ minLength: 1, description: 'path of a PEM file' })

/** A certificate and its key: an identity in the mesh (spiffe://<gossip.cluster>/service/<name>). */
export const KeyPairSchema = Strict({
  cert: PemFile,
  key: PemFile,
})

export const ListenerSchema = Strict({
  name: Name,
  listen: Address,
  routes: Type.Array(RouteSchema),
  tls: Type.Optional(
    Type.Intersect([KeyPairSchema], {
      description: 'the identity requests entering through this listener present to mesh endpoints (default: tls.cert/key)',
    }),
  ),
})

export const EndpointSchema = Strict({
  address: EndpointAddress,
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  zone: Type.Optional(Type.String({ minLength: 1 })),
  tags: Type.Optional(Tags),
})

export const BreakerSchema = Strict({
  enabled: Type.Optional(Type.Boolean()),
  errorThresholdPercentage: Type.Optional(Percent),
  volumeThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
  resetTimeout: Type.Optional(Duration),
  rollingCountTimeout: Type.Optional(Duration),
  rollingCountBuckets: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
})

export const HealthCheckSchema = Strict({
  http: Type.Optional(
    Strict({
      path: Type.Optional(Type.String({ pattern: '^/' })),
      method: Type.Optional(Type.String({ pattern: '^[A-Z]+$' })),
      expectStatus: Type.Optional(Type.String({ pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$', description: '200 or 200-399' })),
      expectBody: Type.Optional(Type.String()),
      headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
  ),
  tcp: Type.Optional(Strict({})),
  interval: Type.Optional(Duration),
  timeout: Type.Optional(Duration),
  jitter: Type.Optional(Percent),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
  remote: Type.Optional(Type.Boolean({ description: 'also actively check endpoints learned from gossip' })),
})

export const OutlierSchema = Strict({
  enabled: Type.Optional(Type.Boolean()),
  consecutiveErrors: Type.Optional(Type.Integer({ minimum: 1 })),
  baseEjectionTime: Type.Optional(Duration),
  maxEjectionTime: Type.Optional(Duration),
  maxEjectionPercent: Type.Optional(Percent),
})

export const ServiceSchema = Strict({
  strategy: Type.Optional(Strategy),
  hashKey: Type.Optional(Type.String({ pattern: '^(header:.+|cookie:.+|path|client-ip)$', description: 'header:NAME | cookie:NAME | path | client-ip' })),
  hashFallback: Type.Optional(Strategy),
  hashBalanceFactor: Type.Optional(Type.Number({ minimum: 1, description: 'bounded loads: no endpoint above this × mean in-flight (e.g. 1.25)' })),
  latencyDecay: Type.Optional(Duration),
  endpoints: Type.Optional(Type.Array(EndpointSchema)),
  tags: Type.Optional(Tags),
  preferLocalZone: Type.Optional(Type.Boolean()),
  breaker: Type.Optional(BreakerSchema),
  healthCheck: Type.Optional(HealthCheckSchema),
  outlierDetection: Type.Optional(OutlierSchema),
  panicThreshold: Type.Optional(Percent),
  slowStart: Type.Optional(Duration),
  concurrency: Type.Optional(
    Strict({
      maxInFlight: Type.Optional(Type.Integer({ minimum: 1 })),
      maxQueued: Type.Optional(Type.Integer({ minimum: 0 })),
      queueTimeout: Type.Optional(Duration),
    }),
  ),
  retryBudget: Type.Optional(
    Strict({
      ratio: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      minPerSecond: Type.Optional(Type.Number({ minimum: 0 })),
    }),
  ),
  upstream: Type.Optional(
    Strict({
      connections: Type.Optional(Type.Integer({ minimum: 1 })),
      connectTimeout: Type.Optional(Duration),
      keepAliveTimeout: Type.Optional(Duration),
      maxConcurrentStreams: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 10000, description: 'protocol http2: streams at once on one upstream connection (fewer if the endpoint says so); more open another connection, up to connections' }),
      ),
    }),
  ),
  protocol: Type.Optional(
    Type.Union([Type.Literal('http1'), Type.Literal('http2')], {
      description: 'how commy talks to the endpoints: http1 (HTTP/1.1), or http2 (h2c to plaintext endpoints, ALPN h2 over TLS); WebSocket upgrades always use HTTP/1.1',
    }),
  ),
  tls: Type.Optional(
    Strict(
      {
        ca: Type.Optional(PemFile),
        cert: Type.Optional(PemFile),
        key: Type.Optional(PemFile),
        servername: Type.Optional(Type.String({ minLength: 1, description: 'SNI and the name the certificate must carry (default: the endpoint host)' })),
      },
      { description: 'HTTPS to this service\'s static endpoints (upstreams outside the mesh); cert/key: a client certificate' },
    ),
  ),
})

export const GossipSchema = Strict({
  listen: Address,
  advertise: Type.Optional(Address),
  seeds: Type.Optional(
    Type.Array(
      Type.Union([Address, Type.String({ pattern: '^dns\\+srv:[A-Za-z0-9_.-]+$', description: 'dns+srv:_gossip._udp.NAME (SRV records: every target and port)' })]),
      { description: 'host:port (A/AAAA, every address) or dns+srv:NAME; resolved again on every join attempt' },
    ),
  ),
  joinTimeout: Type.Optional(
    Type.Union([Duration], { description: 'longest /readyz waits for a seed to answer before the node serves as a cluster of one (it keeps trying to join)' }),
  ),
  key: Type.Optional(Type.String({ description: 'base64 of 16, 24 or 32 bytes (commy keygen)' })),
  keys: Type.Optional(Type.Array(Type.String(), { description: 'older keys still accepted (rotation)' })),
  cluster: Type.Optional(Name),
  profile: Type.Optional(Type.Union([Type.Literal('lan'), Type.Literal('local')])),
  probeInterval: Type.Optional(Duration),
  probeTimeout: Type.Optional(Duration),
  indirectChecks: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),
  suspicionMult: Type.Optional(Type.Number({ minimum: 1 })),
  suspicionMaxTimeoutMult: Type.Optional(Type.Number({ minimum: 1 })),
  retransmitMult: Type.Optional(Type.Number({ minimum: 1 })),
  gossipInterval: Type.Optional(Duration),
  gossipNodes: Type.Optional(Type.Integer({ minimum: 1 })),
  pushPullInterval: Type.Optional(Duration),
  tombstoneTimeout: Type.Optional(Duration),
  mtu: Type.Optional(Type.Integer({ minimum: 512, maximum: 65000 })),
  lifeguard: Type.Optional(Type.Boolean()),
  healthQuorum: Type.Optional(Type.Integer({ minimum: 1, description: 'sidecars that must report an endpoint failing before others lower its weight' })),
  maxMembers: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'largest cluster expected: sizes the push-pull frame limit (max(1 MiB, maxMembers × 2 × mtu))' })),
  maxInboundStreams: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'inbound push-pull streams at once' })),
  maxStreamsPerSource: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'inbound push-pull streams at once from one address' })),
  streamHeaderTimeout: Type.Optional(Duration),
  streamTimeout: Type.Optional(Duration),
})

export const LocalServiceSchema = Strict({
  name: Name,
  address: Address,
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  tags: Type.Optional(Tags),
  healthCheck: Type.Optional(HealthCheckSchema),
  allow: Type.Optional(Type.Array(Name, { description: 'services allowed to call this one over the inbound listener (absent: any mesh identity)' })),
  tls: Type.Optional(
    Type.Intersect([KeyPairSchema], { description: 'the certificate the inbound listener presents for this service (SNI); default: tls.cert/key' }),
  ),
})

export const MeshTlsSchema = Strict(
  {
    ca: Type.String({ minLength: 1, description: 'PEM trust anchor(s) of the mesh (a bundle is allowed, for CA rotation)' }),
    cert: Type.String({ minLength: 1, description: 'PEM certificate: spiffe://<gossip.cluster>/service/<name>' }),
    key: Type.String({ minLength: 1, description: 'PEM private key of cert' }),
    mode: Type.Optional(
      Type.Union([Type.Literal('strict'), Type.Literal('permissive')], { description: 'strict (default): plaintext to gossip-learned endpoints is refused; permissive: allowed (migration)' }),
    ),
    watch: Type.Optional(Type.Boolean({ description: 'reload the files when they change (default true; also on SIGHUP and /v1/reload)' })),
  },
  { description: "this sidecar's identity in the mesh" },
)

export const InboundSchema = Strict(
  {
    listen: Address,
    advertise: Type.Optional(Type.Union([Address], { description: 'address announced over gossip (default: the gossip advertise host with the listen port)' })),
  },
  { description: "peers' sidecars reach this node's local services here, over mTLS only" },
)

export const ProbesSchema = Strict(
  {
    listen: Address,
  },
  { description: 'a read-only listener for the platform: /healthz, /readyz, /metrics (may bind the pod IP or 0.0.0.0)' },
)

export const HealthSchema = Strict({
  history: Type.Optional(Strict({ bucket: Type.Optional(Duration), retention: Type.Optional(Duration) })),
  eventLoopLagThreshold: Type.Optional(Duration),
})

export const AlertRuleSchema = Strict({
  name: Name,
  when: Type.Union(
    ['error-rate', 'p99-latency', 'endpoint-unhealthy', 'breaker-open', 'no-healthy-endpoint', 'cert-expiring'].map((w) => Type.Literal(w)),
  ),
  above: Type.Optional(
    Type.Union([Type.Number(), Type.String({ pattern: '^[0-9.]+(%|ms|s|m|h|d)$' })], { description: '5% for error-rate, 250ms for p99-latency, time left such as 7d or 72h for cert-expiring (default 7d)' }),
  ),
  for: Type.Optional(Duration),
  service: Type.Optional(Name),
  severity: Type.Optional(Type.Union([Type.Literal('warning'), Type.Literal('critical')])),
  minRequests: Type.Optional(Type.Integer({ minimum: 0 })),
})

export const AlertsSchema = Strict({
  rules: Type.Optional(Type.Array(AlertRuleSchema)),
  webhooks: Type.Optional(
    Type.Array(
      Strict({
        url: Type.String({ pattern: '^https?://' }),
        timeout: Type.Optional(Duration),
        retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
        headers: Type.Optional(Type.Record(Type.String(), Type.String())),
      }),
    ),
  ),
  keep: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'recent alerts kept' })),
})

export const SidecarSchema = Strict(
  {
    node: Type.Optional(NodeSchema),
    admin: Type.Optional(AdminSchema),
    log: Type.Optional(LogSchema),
    limits: Type.Optional(LimitsSchema),
    listeners: Type.Array(ListenerSchema, { minItems: 1 }),
    services: Type.Record(Name, ServiceSchema),
    gossip: Type.Optional(GossipSchema),
    tls: Type.Optional(MeshTlsSchema),
    inbound: Type.Optional(InboundSchema),
    probes: Type.Optional(ProbesSchema),
    local: Type.Optional(Strict({ services: Type.Optional(Type.Array(LocalServiceSchema)) })),
    health: Type.Optional(HealthSchema),
    alerts: Type.Optional(AlertsSchema),
  },
  { $id: 'https://commy.dev/schema/sidecar.schema.json', title: 'commy sidecar.yaml' },
)

export type RawSidecarConfig = Static<typeof SidecarSchema>
export type RawService = Static<typeof ServiceSchema>
export type RawRoute = Static<typeof RouteSchema>
export type RawHealthCheck = Static<typeof HealthCheckSchema>
