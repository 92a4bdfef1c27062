/**
 * The sidecar.yaml schema: one source of truth for the raw file's TypeScript types and the
 * JSON Schema shipped in `schema/sidecar.schema.json` (written by `commy schema`).
 * Unknown keys are errors everywhere (additionalProperties: false).
 */
import { Type, type Static, type TProperties, type ObjectOptions } from '@sinclair/typebox'

const Strict = <T extends TProperties>(props: T, opts: ObjectOptions = {}) =>
  Type.Object(props, { additionalProperties: false, ...opts })

const DurationText = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$', description: 'duration: 500ms, 2s, 1m, 1h (or a number of ms)' })
const DurationMs = Type.Number({ minimum: 0 })

/** `500ms`, `2s`, `1.5m`, `1h`, or a number of milliseconds. */
export const Duration = Type.Union([DurationText, DurationMs], { description: 'a duration such as 500ms, 2s, 1m, 1h' })
/**
 * A duration key, described (every key says what it is: config/schema-doc.ts). `errorHint` is
 * what a config error says was expected (config/load.ts), the value's form rather than its meaning.
 */
const Dur = (description: string) => Type.Union([DurationText, DurationMs], { description, errorHint: Duration.description })

const ADDRESS_PATTERN = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$'
/** `host:port`, `[v6]:port`. */
export const Address = Type.String({ pattern: ADDRESS_PATTERN, description: 'host:port' })
const Addr = (description: string) => Type.String({ pattern: ADDRESS_PATTERN, description, errorHint: 'host:port' })

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
const Name = Type.String({ pattern: NAME_PATTERN, description: 'a name: letters, digits, _ . -' })
const NameOf = (description: string) => Type.String({ pattern: NAME_PATTERN, description, errorHint: Name.description })
const Tags = (description: string) => Type.Array(Type.String({ minLength: 1 }), { description })
const Percent = (description: string) => Type.Number({ minimum: 0, maximum: 100, description })

/** An endpoint: `host:port`, or a Unix domain socket `unix:/path`. */
const EndpointAddr = (description: string) =>
  Type.Union([Address, Type.String({ pattern: '^unix:/.+$', description: 'unix:/path/to/app.sock (a Unix domain socket)' })], {
    description,
    errorHint: 'host:port, or unix:/path/to/app.sock',
  })

export const BUILTIN_STRATEGIES = ['round-robin', 'weighted', 'least-connections', 'latency', 'random', 'consistent-hash'] as const

/** A built-in strategy or one registered in code (checked against the registry in normalize). */
export const Strategy = Type.String({
  pattern: '^[a-z][a-z0-9-]*$',
  examples: [...BUILTIN_STRATEGIES],
  description: 'round-robin | weighted | least-connections | latency | random | consistent-hash (or a strategy registered in code)',
})

export const NodeSchema = Strict(
  {
    name: Type.Optional(NameOf('this node in gossip, logs and metrics (default: the hostname)')),
    zone: Type.Optional(Type.String({ minLength: 1, description: "this node's zone: services with preferLocalZone pick endpoints of this zone first" })),
  },
  { description: 'who this sidecar is' },
)

export const AdminSchema = Strict({
  listen: Type.Optional(Addr('admin API, /metrics and dashboard (keep it on loopback, or set token)')),
  token: Type.Optional(Type.String({ minLength: 16, description: 'bearer token; required when listen is not loopback' })),
  watchConfig: Type.Optional(Type.Boolean({ description: 'reload when the config file changes' })),
}, { description: 'the admin server: JSON API, Prometheus metrics, dashboard, runtime controls' })

export const LogSchema = Strict({
  level: Type.Optional(
    Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { description: 'lowest level of component log lines written', errorHint: 'fatal | error | warn | info | debug | trace | silent' },
    ),
  ),
  destination: Type.Optional(Type.String({ minLength: 1, description: 'stdout, stderr, or a file path' })),
  accessLog: Type.Optional(Type.Boolean({ description: 'one line per request (access log)' })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text')], { description: 'json: one pino-format JSON object per line (for collectors); text: time level component msg key=value, for terminals. Applies on reload too' })),
}, { description: 'component log and access log' })

export const LimitsSchema = Strict({
  maxHeaderSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576, description: 'bytes of request headers; larger get 431' })),
  headersTimeout: Type.Optional(Dur('time a client has to send the request headers (408 after it)')),
  requestTimeout: Type.Optional(Dur('time a client has to send the whole request')),
  keepAliveTimeout: Type.Optional(Dur('an idle client connection is closed after this')),
  maxRequestsPerSocket: Type.Optional(Type.Integer({ minimum: 0, description: 'requests per client connection before it is closed; 0 = no limit' })),
  drainTimeout: Type.Optional(Dur('longest a drain waits for requests in flight to finish')),
  drainGrace: Type.Optional(Dur('after a drain begins, how long listeners still accept (responses carry Connection: close)')),
  maxHeaderCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'request headers per request; more get 431' })),
  maxUriLength: Type.Optional(Type.Integer({ minimum: 256, maximum: 1048576, description: 'request-target bytes; longer get 414' })),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, description: 'open client connections per listener; more are refused and counted' })),
  requestBodyIdleTimeout: Type.Optional(Dur('longest pause between two chunks of a request body (408 after it)')),
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
}, { description: 'limits and timeouts of the listeners (client side); they apply after a restart' })

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
  perTryTimeout: Type.Optional(Dur('time one try may take (absent: only the route timeout)')),
  on: Type.Optional(Type.Array(Type.Union([RetryOn, Type.Integer({ minimum: 500, maximum: 599 })]), { description: 'failures that are retried: connect-failure, reset, timeout, 5xx, or a status such as 503' })),
  methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { description: 'methods that may be retried (default: idempotent ones)' })),
  backoff: Type.Optional(
    Strict(
      { base: Type.Optional(Dur('wait before the first retry (full jitter)')), max: Type.Optional(Dur('longest wait between tries')) },
      { description: 'exponential backoff between tries' },
    ),
  ),
  maxBufferedBody: Type.Optional(Type.Integer({ minimum: 0, description: 'request bodies up to this many bytes are buffered so they can be replayed' })),
}, { description: 'retries of failed tries on other endpoints' })

export const RouteSchema = Strict({
  name: Type.Optional(NameOf('route name in logs and metrics (default: <listener>-<index>)')),
  match: Strict(
    {
      host: Type.Optional(Type.String({ minLength: 1, description: 'Host header (port ignored); *.example.com wildcards allowed' })),
      pathPrefix: Type.Optional(Type.String({ pattern: '^/', description: 'the request path starts with this' })),
      headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'request headers that must have these exact values' })),
      grpc: Type.Optional(
        Strict(
          {
            service: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]*$', description: 'fully-qualified gRPC service, e.g. payments.v1.Ledger' }),
            method: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'one method of it (default: every method)' })),
          },
          { description: 'gRPC calls (content-type application/grpc*) to this service (path /service/ or /service/method); instead of pathPrefix' },
        ),
      ),
    },
    { description: 'what a request must match (all given conditions); the first matching route wins' },
  ),
  service: NameOf('the service (under services) requests of this route go to'),
  timeout: Type.Optional(Dur('time for the whole request, retries included (504 after it)')),
  retries: Type.Optional(RetriesSchema),
  strategy: Type.Optional(Type.String({ ...Strategy, description: "balancing strategy for this route (default: the service's)" })),
  tags: Type.Optional(Tags('only endpoints carrying every one of these tags')),
  explain: Type.Optional(Type.Boolean({ description: 'add x-commy-explain: why this endpoint was picked' })),
})

const PemFile = (description: string) => Type.String({ minLength: 1, description: `path of a PEM file: ${description}` })

/** A certificate and its key: an identity in the mesh (spiffe://<gossip.cluster>/service/<name>). */
export const KeyPairSchema = Strict({
  cert: PemFile('certificate whose SAN is spiffe://<gossip.cluster>/service/<name>'),
  key: PemFile('private key of cert'),
})

export const ListenerSchema = Strict({
  name: NameOf('listener name in logs and metrics'),
  listen: Addr('where the app sends its outbound requests'),
  routes: Type.Array(RouteSchema, { description: 'routes, tried in order' }),
  tls: Type.Optional(
    Type.Intersect([KeyPairSchema], {
      description: 'the identity requests entering through this listener present to mesh endpoints (default: tls.cert/key)',
    }),
  ),
})

export const EndpointSchema = Strict({
  address: EndpointAddr('host:port of the endpoint, or unix:/path/to/app.sock'),
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'share of traffic for weighted strategies; 0 = draining (no new requests)' })),
  zone: Type.Optional(Type.String({ minLength: 1, description: "the endpoint's zone (preferLocalZone)" })),
  tags: Type.Optional(Tags('capabilities routes may ask for (routes[].tags)')),
})

export const BreakerSchema = Strict({
  enabled: Type.Optional(Type.Boolean({ description: 'a circuit breaker per endpoint' })),
  errorThresholdPercentage: Type.Optional(Percent('failed share of requests in the window that opens the breaker')),
  volumeThreshold: Type.Optional(Type.Integer({ minimum: 1, description: 'requests in the window before the breaker may open' })),
  resetTimeout: Type.Optional(Dur('how long an open breaker waits before one trial request (half-open)')),
  rollingCountTimeout: Type.Optional(Dur('the window failures are counted over')),
  rollingCountBuckets: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'buckets the window is divided into' })),
}, { description: 'circuit breaker per endpoint' })

export const HealthCheckSchema = Strict({
  http: Type.Optional(
    Strict(
      {
        path: Type.Optional(Type.String({ pattern: '^/', description: 'path requested' })),
        method: Type.Optional(Type.String({ pattern: '^[A-Z]+$', description: 'HTTP method' })),
        expectStatus: Type.Optional(Type.String({ pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$', description: '200 or 200-399' })),
        expectBody: Type.Optional(Type.String({ description: 'the response body must contain this text' })),
        headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'request headers sent with each check (values are redacted in /v1/config)' })),
      },
      { description: 'an HTTP check: passes on the expected status (and body)' },
    ),
  ),
  tcp: Type.Optional(Strict({}, { description: 'a TCP check: passes when a connection opens' })),
  interval: Type.Optional(Dur('time between two checks of an endpoint')),
  timeout: Type.Optional(Dur('a check that takes longer fails')),
  jitter: Type.Optional(Percent('random spread of the interval, in percent')),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, description: 'consecutive failures that mark an endpoint unhealthy' })),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, description: 'consecutive passes that mark it healthy again' })),
  remote: Type.Optional(Type.Boolean({ description: 'also actively check endpoints learned from gossip' })),
}, { description: 'active health check: http or tcp' })

export const OutlierSchema = Strict({
  enabled: Type.Optional(Type.Boolean({ description: 'passive outlier ejection' })),
  consecutiveErrors: Type.Optional(Type.Integer({ minimum: 1, description: 'consecutive failed requests that eject an endpoint' })),
  baseEjectionTime: Type.Optional(Dur('first ejection time; each further ejection multiplies it')),
  maxEjectionTime: Type.Optional(Dur('longest ejection')),
  maxEjectionPercent: Type.Optional(Percent('most endpoints of the service ejected at once, in percent')),
}, { description: 'passive health: eject endpoints that fail requests in a row (Envoy outlier detection)' })

export const ServiceSchema = Strict({
  strategy: Type.Optional(Type.String({ ...Strategy, description: `balancing strategy: ${Strategy.description}` })),
  hashKey: Type.Optional(Type.String({ pattern: '^(header:.+|cookie:.+|path|client-ip)$', description: 'header:NAME | cookie:NAME | path | client-ip' })),
  hashFallback: Type.Optional(Type.String({ ...Strategy, description: 'strategy for requests without the hash key' })),
  hashBalanceFactor: Type.Optional(Type.Number({ minimum: 1, description: 'bounded loads: no endpoint above this × mean in-flight (e.g. 1.25); absent: no bound' })),
  latencyDecay: Type.Optional(Dur('how fast the peak-EWMA latency forgets (latency strategy)')),
  endpoints: Type.Optional(Type.Array(EndpointSchema, { description: 'static endpoints (more may come from gossip)' })),
  tags: Type.Optional(Tags('tags every endpoint of the service must carry')),
  preferLocalZone: Type.Optional(Type.Boolean({ description: "pick endpoints in node.zone while any is healthy" })),
  breaker: Type.Optional(BreakerSchema),
  healthCheck: Type.Optional(HealthCheckSchema),
  outlierDetection: Type.Optional(OutlierSchema),
  panicThreshold: Type.Optional(Percent('below this share of healthy endpoints, every endpoint is used (panic routing); 0 = never')),
  slowStart: Type.Optional(Dur('a new or recovered endpoint ramps from 10% to full weight over this; 0 = at once')),
  concurrency: Type.Optional(
    Strict(
      {
        maxInFlight: Type.Optional(Type.Integer({ minimum: 1, description: 'requests in flight to the service at once; absent: no limit' })),
        maxQueued: Type.Optional(Type.Integer({ minimum: 0, description: 'requests waiting for a slot; more get 503' })),
        queueTimeout: Type.Optional(Dur('longest wait for a slot (503 after it)')),
      },
      { description: 'concurrency limit of the service' },
    ),
  ),
  retryBudget: Type.Optional(
    Strict(
      {
        ratio: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'retries allowed as a share of requests' })),
        minPerSecond: Type.Optional(Type.Number({ minimum: 0, description: 'retries per second always allowed' })),
      },
      { description: 'retry budget (Linkerd): retries are refused beyond it' },
    ),
  ),
  upstream: Type.Optional(
    Strict(
      {
        connections: Type.Optional(Type.Integer({ minimum: 1, description: 'connections per endpoint (keep-alive; with http2, each carries up to maxConcurrentStreams)' })),
        connectTimeout: Type.Optional(Dur('time to open a connection to an endpoint')),
        keepAliveTimeout: Type.Optional(Dur('an idle upstream connection is closed after this')),
        maxConcurrentStreams: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 10000, description: 'protocol http2: streams at once on one upstream connection (fewer if the endpoint says so); more open another connection, up to connections' }),
        ),
      },
      { description: 'connection pool to each endpoint' },
    ),
  ),
  protocol: Type.Optional(
    Type.Union([Type.Literal('http1'), Type.Literal('http2')], {
      description: 'how commy talks to the endpoints: http1 (HTTP/1.1), or http2 (h2c to plaintext endpoints, ALPN h2 over TLS); WebSocket upgrades always use HTTP/1.1',
    }),
  ),
  tls: Type.Optional(
    Strict(
      {
        ca: Type.Optional(PemFile("CA bundle the endpoints' certificates must chain to (default: the system's)")),
        cert: Type.Optional(PemFile('client certificate presented to the endpoints')),
        key: Type.Optional(PemFile('private key of cert')),
        servername: Type.Optional(Type.String({ minLength: 1, description: 'SNI and the name the certificate must carry (default: the endpoint host)' })),
      },
      { description: 'HTTPS to this service\'s static endpoints (upstreams outside the mesh); cert/key: a client certificate' },
    ),
  ),
}, { description: 'one upstream service: endpoints, balancing, health and resilience' })

export const GossipSchema = Strict({
  listen: Addr('UDP and TCP address of the gossip protocol'),
  advertise: Type.Optional(Addr('address other nodes reach this one at (default: listen)')),
  seeds: Type.Optional(
    Type.Array(
      Type.Union([Address, Type.String({ pattern: '^dns\\+srv:[A-Za-z0-9_.-]+$', description: 'dns+srv:_gossip._udp.NAME (SRV records: every target and port)' })]),
      { description: 'host:port (A/AAAA, every address) or dns+srv:NAME; resolved again on every join attempt' },
    ),
  ),
  joinTimeout: Type.Optional(Dur('longest /readyz waits for a seed to answer before the node serves as a cluster of one (it keeps trying to join)')),
  key: Type.Optional(Type.String({ description: 'base64 of 16, 24 or 32 bytes (commy keygen)' })),
  keys: Type.Optional(Type.Array(Type.String(), { description: 'older keys still accepted (rotation)' })),
  cluster: Type.Optional(NameOf('cluster name: nodes of another cluster are ignored; the trust domain of mesh identities')),
  profile: Type.Optional(Type.Union([Type.Literal('lan'), Type.Literal('local')], { description: 'timing profile: lan (default), or local (one machine: 5x faster)' })),
  probeInterval: Type.Optional(Dur('time between two probes (local profile: 200ms)')),
  probeTimeout: Type.Optional(Dur('a probe without an ack in this time goes indirect (local profile: 100ms)')),
  indirectChecks: Type.Optional(Type.Integer({ minimum: 0, maximum: 16, description: 'members asked to probe for us when a direct probe fails' })),
  suspicionMult: Type.Optional(Type.Number({ minimum: 1, description: 'suspicion timeout = this × probe interval × log10(n) (local profile: 3)' })),
  suspicionMaxTimeoutMult: Type.Optional(Type.Number({ minimum: 1, description: 'longest suspicion, as a multiple of the shortest' })),
  retransmitMult: Type.Optional(Type.Number({ minimum: 1, description: 'a broadcast is sent this × log10(n+1) times (local profile: 2)' })),
  gossipInterval: Type.Optional(Dur('time between gossip rounds (local profile: 100ms)')),
  gossipNodes: Type.Optional(Type.Integer({ minimum: 1, description: 'members each gossip round sends to' })),
  pushPullInterval: Type.Optional(Dur('full state exchange with one member this often (local profile: 5s); 0 = never')),
  tombstoneTimeout: Type.Optional(Dur('a dead or left member is forgotten after this')),
  mtu: Type.Optional(Type.Integer({ minimum: 512, maximum: 65000, description: 'largest UDP packet sent, in bytes' })),
  lifeguard: Type.Optional(Type.Boolean({ description: "Lifeguard: a node that doubts itself probes more slowly; suspicion shortens with confirmations" })),
  healthQuorum: Type.Optional(Type.Integer({ minimum: 1, description: 'sidecars that must report an endpoint failing before others lower its weight' })),
  maxMembers: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'largest cluster expected: sizes the push-pull frame limit (max(1 MiB, maxMembers × 2 × mtu))' })),
  maxInboundStreams: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'inbound push-pull streams at once' })),
  maxStreamsPerSource: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'inbound push-pull streams at once from one address' })),
  streamHeaderTimeout: Type.Optional(Dur('an inbound push-pull stream must send its frame header within this')),
  streamTimeout: Type.Optional(Dur('an inbound push-pull stream must send its whole frame within this')),
}, { description: 'SWIM membership: nodes find each other and announce their local services' })

export const LocalServiceSchema = Strict({
  name: NameOf('service name announced to the mesh'),
  address: Addr('where the app beside this sidecar listens'),
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'announced weight; 0 = draining' })),
  tags: Type.Optional(Tags('announced tags (routes[].tags of other nodes select on them)')),
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
    listen: Addr('mTLS listener for peers (never loopback-only when peers are on other hosts)'),
    advertise: Type.Optional(Addr('address announced over gossip (default: the gossip advertise host with the listen port)')),
  },
  { description: "peers' sidecars reach this node's local services here, over mTLS only" },
)

export const ProbesSchema = Strict(
  {
    listen: Addr('address of the probe listener'),
  },
  { description: 'a read-only listener for the platform: /healthz, /readyz, /metrics (may bind the pod IP or 0.0.0.0)' },
)

export const TracingSchema = Strict(
  {
    otlp: Strict(
      {
        endpoint: Type.String({ pattern: '^https?://', description: 'OTLP/HTTP traces URL of a collector, e.g. http://127.0.0.1:4318/v1/traces' }),
        headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'headers sent with every export, e.g. an API key (redacted in /v1/config)' })),
        timeout: Type.Optional(Type.Union(Duration.anyOf, { description: 'how long one export may take (default 10s)' })),
      },
      { description: 'where spans are exported (OTLP over HTTP, JSON)' },
    ),
    sampling: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of new traces recorded, 0..1 (default 1); a request with a traceparent follows its sampled flag' })),
    serviceName: Type.Optional(Type.String({ minLength: 1, description: 'service.name of the spans (default commy; service.instance.id is the node name)' })),
  },
  { description: 'OpenTelemetry traces: a server span per request, a client span per try (absent: off)' },
)

export const HealthSchema = Strict({
  history: Type.Optional(
    Strict(
      { bucket: Type.Optional(Dur('width of one history bucket')), retention: Type.Optional(Dur('how far back history is kept')) },
      { description: 'per-endpoint history (requests, errors, latency, transitions) kept in memory' },
    ),
  ),
  eventLoopLagThreshold: Type.Optional(Dur('above this event-loop delay, latency penalties and passive ejection pause')),
}, { description: 'health history and self-monitoring' })

export const AlertRuleSchema = Strict({
  name: NameOf('rule name in alerts and webhooks'),
  when: Type.Union(
    ['error-rate', 'p99-latency', 'endpoint-unhealthy', 'breaker-open', 'no-healthy-endpoint', 'cert-expiring'].map((w) => Type.Literal(w)),
    { description: 'the condition watched' },
  ),
  above: Type.Optional(
    Type.Union([Type.Number(), Type.String({ pattern: '^[0-9.]+(%|ms|s|m|h|d)$' })], { description: '5% for error-rate, 250ms for p99-latency, time left such as 7d or 72h for cert-expiring (default 7d)' }),
  ),
  for: Type.Optional(Dur('the condition must hold this long before the alert fires')),
  service: Type.Optional(NameOf('only this service (default: every one)')),
  severity: Type.Optional(Type.Union([Type.Literal('warning'), Type.Literal('critical')], { description: 'default: critical for no-healthy-endpoint, warning otherwise' })),
  minRequests: Type.Optional(Type.Integer({ minimum: 0, description: 'rate rules ignore windows with fewer requests' })),
})

export const AlertsSchema = Strict({
  rules: Type.Optional(Type.Array(AlertRuleSchema, { description: 'alert rules, evaluated on the health history' })),
  webhooks: Type.Optional(
    Type.Array(
      Strict({
        url: Type.String({ pattern: '^https?://', description: 'POSTed a JSON body when an alert fires or resolves' }),
        timeout: Type.Optional(Dur('time for one delivery')),
        retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'deliveries retried after a failure' })),
        headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'request headers (values redacted in /v1/config)' })),
      }),
      { description: 'where alerts are sent' },
    ),
  ),
  keep: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'recent alerts kept' })),
}, { description: 'alerting on the health history' })

export const SidecarSchema = Strict(
  {
    node: Type.Optional(NodeSchema),
    admin: Type.Optional(AdminSchema),
    log: Type.Optional(LogSchema),
    limits: Type.Optional(LimitsSchema),
    listeners: Type.Array(ListenerSchema, { minItems: 1, description: 'outbound listeners: the app sends its requests here' }),
    services: Type.Record(Name, ServiceSchema, { description: 'upstream services by name' }),
    gossip: Type.Optional(GossipSchema),
    tls: Type.Optional(MeshTlsSchema),
    inbound: Type.Optional(InboundSchema),
    probes: Type.Optional(ProbesSchema),
    local: Type.Optional(
      Strict(
        { services: Type.Optional(Type.Array(LocalServiceSchema, { description: 'services this node offers, announced over gossip with their local health' })) },
        { description: 'what runs beside this sidecar' },
      ),
    ),
    health: Type.Optional(HealthSchema),
    alerts: Type.Optional(AlertsSchema),
    tracing: Type.Optional(TracingSchema),
  },
  { $id: 'https://commy.dev/schema/sidecar.schema.json', title: 'commy sidecar.yaml' },
)

export type RawSidecarConfig = Static<typeof SidecarSchema>
export type RawService = Static<typeof ServiceSchema>
export type RawRoute = Static<typeof RouteSchema>
export type RawHealthCheck = Static<typeof HealthCheckSchema>
