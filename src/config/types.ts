/**
 * The validated, normalised and frozen configuration every component receives a slice of.
 * Durations are milliseconds; every default is filled in (see normalize.ts).
 */
export type StrategyName = 'round-robin' | 'weighted' | 'least-connections' | 'latency' | 'random' | 'consistent-hash' | (string & {})

export interface HostPort {
  readonly host: string
  readonly port: number
}

export interface NodeConfig {
  readonly name: string
  readonly zone: string | undefined
}

export interface AdminConfig {
  readonly listen: HostPort
  readonly token: string | undefined
  readonly watchConfig: boolean
}

export interface LogConfig {
  readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  readonly destination: string
  readonly accessLog: boolean
  /** `json` (one pino-format JSON object per line) or `text` (for terminals: time level component msg key=value…). */
  readonly format: 'json' | 'text'
}

export interface LimitsConfig {
  readonly maxHeaderSize: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  readonly maxRequestsPerSocket: number
  readonly drainTimeoutMs: number
  /** Drain: how long listeners keep accepting (responses with Connection: close) after /readyz fails. */
  readonly drainGraceMs: number
  /** Request headers per request (Envoy's default 100); more: 431 before anything is forwarded. */
  readonly maxHeaderCount: number
  /** Longest request-target in bytes; longer: 414. */
  readonly maxUriLength: number
  /** Open client connections per listener; more are refused (counted). */
  readonly maxConnections: number
  /** A request body that sends nothing for this long is cut with 408 (0 = none). */
  readonly requestBodyIdleTimeoutMs: number
  /** Bytes/s a request body must average once its 5 s grace is over (0 = no minimum; Kestrel's idea). */
  readonly minRequestBodyRate: number
  /**
   * Bytes of a request body read before an endpoint is picked (nginx's request buffering), so a
   * slow client never holds an upstream connection; a longer body is this head, then the rest
   * streamed (proxy/request-body.ts). 0: streamed at once.
   */
  readonly requestBufferSize: number
  /** HTTP/2 client connections (h2c, and ALPN h2 on the inbound listener): streams, header block, floods (proxy/h2-limits.ts). */
  readonly http2: Http2LimitsConfig
}

/** `limits.http2`: bounds of one HTTP/2 client connection (session). */
export interface Http2LimitsConfig {
  /** Streams open at once per session (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. */
  readonly maxConcurrentStreams: number
  /** Bytes of one decoded header block (SETTINGS_MAX_HEADER_LIST_SIZE; HEADERS + CONTINUATION); larger: stream reset. */
  readonly maxHeaderListSize: number
  /** Flow-control window per stream (SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly initialWindowSize: number
  /** Streams a client may reset before their response ended, per session per second (rapid reset); more: GOAWAY. */
  readonly maxResetsPerSecond: number
  /** PING and SETTINGS frames per session per second; more: GOAWAY. */
  readonly maxControlFramesPerSecond: number
  /** Invalid frames per session before it is closed. */
  readonly maxInvalidFrames: number
  /** Refused streams (past maxConcurrentStreams) per session before it is closed. */
  readonly maxRejectedStreams: number
}

/** gRPC calls answered trailers-only with UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED, DEADLINE_EXCEEDED. */
export type GrpcRetryCondition = 'unavailable' | 'resource-exhausted' | 'cancelled' | 'deadline-exceeded'

export type RetryCondition = 'connect-failure' | 'reset' | 'timeout' | GrpcRetryCondition | number

export interface RetryPolicyConfig {
  /** Total tries including the first. 1 = no retry. */
  readonly attempts: number
  readonly perTryTimeoutMs: number
  /** Conditions; numbers are upstream statuses. */
  readonly on: readonly RetryCondition[]
  readonly methods: readonly string[]
  readonly backoffBaseMs: number
  readonly backoffMaxMs: number
  readonly maxBufferedBody: number
}

export interface RouteMatchConfig {
  /** Lower-cased host without port; `*.x.y` matches any sub-domain. */
  readonly host: string | undefined
  readonly pathPrefix: string | undefined
  /** Lower-cased header name -> exact value. */
  readonly headers: readonly (readonly [string, string])[]
  /** gRPC calls only, to this service (and method). */
  readonly grpc?: GrpcMatchConfig | undefined
}

export interface GrpcMatchConfig {
  /** Fully-qualified service, e.g. `payments.v1.Ledger`. */
  readonly service: string
  readonly method: string | undefined
}

export interface RouteConfig {
  readonly name: string
  readonly match: RouteMatchConfig
  readonly service: string
  /** Overall timeout, 0 = none; starts once the whole request is in (or a response starts). */
  readonly timeoutMs: number
  readonly retries: RetryPolicyConfig
  readonly strategy: StrategyName | undefined
  readonly tags: readonly string[]
  readonly explain: boolean
}

/** Paths of a certificate and its key (PEM). */
export interface KeyPairFiles {
  readonly cert: string
  readonly key: string
}

export interface ListenerConfig {
  readonly name: string
  readonly listen: HostPort
  readonly routes: readonly RouteConfig[]
  /** The identity requests entering here present to mesh endpoints; undefined = tls.cert/key. */
  readonly tls: KeyPairFiles | undefined
}

/** HTTPS to a service's static endpoints (outside the mesh). */
export interface UpstreamTlsConfig {
  /** undefined = the system's trust store. */
  readonly ca: string | undefined
  /** A client certificate and key, or undefined. */
  readonly cert: string | undefined
  readonly key: string | undefined
  /** SNI and the name checked in the certificate; undefined = the endpoint host. */
  readonly servername: string | undefined
}

/** This sidecar's mesh identity (paths; the material is loaded by src/tls/). */
export interface MeshTlsConfig {
  readonly ca: string
  readonly cert: string
  readonly key: string
  /** strict: plaintext to gossip-learned endpoints is refused; permissive: allowed. */
  readonly mode: 'strict' | 'permissive'
  readonly watch: boolean
}

export interface InboundConfig {
  readonly listen: HostPort
  /** What gossip announces local services at; undefined = the gossip advertise host with listen's port. */
  readonly advertise: HostPort | undefined
}

export interface ProbesConfig {
  readonly listen: HostPort
}

export interface EndpointConfig {
  readonly address: string
  readonly host: string
  readonly port: number
  readonly weight: number
  readonly zone: string | undefined
  readonly tags: readonly string[]
}

export interface BreakerConfig {
  readonly enabled: boolean
  readonly errorThresholdPercentage: number
  readonly volumeThreshold: number
  readonly resetTimeoutMs: number
  readonly rollingCountTimeoutMs: number
  readonly rollingCountBuckets: number
}

export interface HealthCheckConfig {
  readonly kind: 'http' | 'tcp'
  readonly path: string
  readonly method: string
  readonly expectStatus: readonly [number, number]
  readonly expectBody: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly intervalMs: number
  readonly timeoutMs: number
  /** Percent of the interval. */
  readonly jitter: number
  readonly unhealthyThreshold: number
  readonly healthyThreshold: number
  readonly remote: boolean
  /** HTTP checks speak h2c (the service has `protocol: http2`); absent = HTTP/1.1. */
  readonly http2?: boolean
}

export interface OutlierConfig {
  readonly enabled: boolean
  readonly consecutiveErrors: number
  readonly baseEjectionTimeMs: number
  readonly maxEjectionTimeMs: number
  readonly maxEjectionPercent: number
}

export interface ServiceConfig {
  readonly name: string
  readonly strategy: StrategyName
  /** `header:NAME` | `cookie:NAME` | `path` | `client-ip` */
  readonly hashKey: string | undefined
  readonly hashFallback: StrategyName
  /** Bounded-load factor for consistent-hash; 0 = unbounded. */
  readonly hashBalanceFactor: number
  readonly latencyDecayMs: number
  readonly endpoints: readonly EndpointConfig[]
  readonly tags: readonly string[]
  readonly preferLocalZone: boolean
  readonly breaker: BreakerConfig
  /** undefined = no active check. */
  readonly healthCheck: HealthCheckConfig | undefined
  readonly outlierDetection: OutlierConfig
  /** Percent of healthy endpoints below which all are used. */
  readonly panicThreshold: number
  readonly slowStartMs: number
  readonly concurrency: { readonly maxInFlight: number; readonly maxQueued: number; readonly queueTimeoutMs: number }
  readonly retryBudget: { readonly ratio: number; readonly minPerSecond: number }
  readonly upstream: { readonly connections: number; readonly connectTimeoutMs: number; readonly keepAliveTimeoutMs: number; readonly maxConcurrentStreams: number }
  /** How commy talks to the endpoints: HTTP/1.1, or HTTP/2 (h2c, or ALPN h2 over TLS). */
  readonly protocol: 'http1' | 'http2'
  /** HTTPS to static endpoints; undefined = plaintext (mesh endpoints use tls, see MeshTlsConfig). */
  readonly tls: UpstreamTlsConfig | undefined
}

export interface GossipConfig {
  readonly listen: HostPort
  readonly advertise: HostPort
  /** `host:port` or `dns+srv:NAME`. */
  readonly seeds: readonly string[]
  /** Longest /readyz waits for a seed to answer; then ready as a cluster of one (joining goes on). */
  readonly joinTimeoutMs: number
  /** Raw key bytes: the first one encrypts, all of them decrypt. Empty = no encryption. */
  readonly keys: readonly Buffer[]
  readonly cluster: string
  readonly profile: 'lan' | 'local'
  readonly probeIntervalMs: number
  readonly probeTimeoutMs: number
  readonly indirectChecks: number
  readonly suspicionMult: number
  readonly suspicionMaxTimeoutMult: number
  readonly retransmitMult: number
  readonly gossipIntervalMs: number
  readonly gossipNodes: number
  readonly pushPullIntervalMs: number
  readonly tombstoneTimeoutMs: number
  readonly mtu: number
  readonly lifeguard: boolean
  readonly healthQuorum: number
  /** Largest cluster expected: sizes the push-pull frame limit (membership/stream-limits.ts). */
  readonly maxMembers: number
  /** Inbound push-pull streams at once, and from one remote address. */
  readonly maxInboundStreams: number
  readonly maxStreamsPerSource: number
  /** An inbound stream's 4-byte header, and its whole frame, must arrive within these of the connection. */
  readonly streamHeaderTimeoutMs: number
  readonly streamTimeoutMs: number
}

export interface LocalServiceConfig {
  readonly name: string
  readonly address: string
  readonly host: string
  readonly port: number
  readonly weight: number
  readonly tags: readonly string[]
  readonly healthCheck: HealthCheckConfig | undefined
  /** Services allowed to call it over the inbound listener; undefined = any mesh identity. */
  readonly allow: readonly string[] | undefined
  /** The certificate the inbound listener presents for it (SNI); undefined = tls.cert/key. */
  readonly tls: KeyPairFiles | undefined
}

export interface HealthConfig {
  readonly historyBucketMs: number
  readonly historyRetentionMs: number
  readonly eventLoopLagThresholdMs: number
}

export type AlertKind = 'error-rate' | 'p99-latency' | 'endpoint-unhealthy' | 'breaker-open' | 'no-healthy-endpoint' | 'cert-expiring'

export interface AlertRuleConfig {
  readonly name: string
  readonly when: AlertKind
  /** error-rate: fraction 0..1; p99-latency: ms; cert-expiring: ms of validity left; others: unused (0). */
  readonly above: number
  readonly forMs: number
  readonly service: string | undefined
  readonly severity: 'warning' | 'critical'
  readonly minRequests: number
}

export interface WebhookConfig {
  readonly url: string
  readonly timeoutMs: number
  readonly retries: number
  readonly headers: Readonly<Record<string, string>>
}

export interface AlertsConfig {
  readonly rules: readonly AlertRuleConfig[]
  readonly webhooks: readonly WebhookConfig[]
  readonly keep: number
}

export interface SidecarConfig {
  /** Absolute path of the file it came from ('' when built in code). */
  readonly file: string
  /** Short hash of the file's text: the config version shown by the admin API. */
  readonly version: string
  readonly node: NodeConfig
  readonly admin: AdminConfig
  readonly log: LogConfig
  readonly limits: LimitsConfig
  readonly listeners: readonly ListenerConfig[]
  readonly services: Readonly<Record<string, ServiceConfig>>
  readonly gossip: GossipConfig | undefined
  readonly tls: MeshTlsConfig | undefined
  readonly inbound: InboundConfig | undefined
  readonly probes: ProbesConfig | undefined
  readonly local: { readonly services: readonly LocalServiceConfig[] }
  readonly health: HealthConfig
  readonly alerts: AlertsConfig
  /** OpenTelemetry tracing; undefined = off. */
  readonly tracing: TracingConfig | undefined
}

export interface TracingConfig {
  readonly otlp: {
    /** OTLP/HTTP traces URL (`…/v1/traces`). */
    readonly endpoint: string
    readonly headers: Readonly<Record<string, string>>
    readonly timeoutMs: number
  }
  /** Share of new traces recorded (0..1); an incoming traceparent's sampled flag wins. */
  readonly sampling: number
  readonly serviceName: string
}
