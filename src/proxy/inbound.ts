/**
 * The inbound mTLS listener (`inbound.listen`): peers' sidecars reach this node's local services
 * here, and only here (gossip announces the services at this address; the apps' own addresses
 * stay private to the node).
 *
 * It is an ordinary Listener and Forwarder — same limits, framing checks, timeouts, connection
 * cap, drain, access log and request metrics — with three differences:
 * - the server is node:https: TLS 1.2+ (1.3 preferred by OpenSSL), a client certificate that
 *   chains to `tls.ca` required (`requestCert`, `rejectUnauthorized`), the server certificate
 *   chosen per SNI (`credentials.serverContext(service)`, asked per handshake, so a rotation
 *   reaches new connections; the context of clients without SNI is swapped on `onChange`);
 * - its route table has one route per local service, matched on the TLS server name or the Host
 *   header (proxy/inbound-gate.ts), each leading to the app's own address over loopback;
 * - the InboundGate identifies the caller per connection, authorizes each request against
 *   `allow` and sets `x-commy-caller`.
 * Its targets are not services of the endpoint registry: a local app is no outbound service
 * (the same name may be configured as one, to call the service's other instances), has no
 * breaker, outlier detection or retry here (the calling sidecar has those, per endpoint), and
 * gets its own keep-alive pools (one UndiciTransport), closed with the listener.
 */
import type { Logger } from 'pino'
import type { Clock, Random } from '../clock.js'
import type { HostPort, InboundConfig, LimitsConfig, ListenerConfig, LocalServiceConfig, RetryPolicyConfig, RouteConfig, ServiceConfig } from '../config/types.js'
import { DEFAULTS } from '../config/normalize.js'
import type { InternalError } from '../errors.js'
import type { Startable } from '../lifecycle.js'
import { ServiceEndpoints } from '../endpoint/service-endpoints.js'
import { createBalancer, type StrategyRegistry } from '../balancer/registry.js'
import { compose } from '../pipeline/pipeline.js'
import { endpointStats, tryCounter } from '../pipeline/endpoint-stats.js'
import { grpcStatusLayer } from './grpc-layer.js'
import type { MeshCredentials } from '../tls/credentials.js'
import type { Transport } from '../transport/transport.js'
import { UndiciTransport } from '../transport/undici.js'
import type { UpgradeTransport } from '../transport/upgrade.js'
import { Forwarder } from './forwarder.js'
import { InboundGate } from './inbound-gate.js'
import { Listener, type RefusalReason } from './listener.js'
import type { ConnectionCount } from './connection-counts.js'
import type { RequestIds } from './request-id.js'
import type { RequestObserver } from './request-record.js'
import { createRetry } from './retry.js'
import { RouteTable } from './routes.js'
import type { RouteTarget } from './targets.js'

/** The inbound listener's name (access log, metrics, refusal counters). */
export const INBOUND_LISTENER = 'inbound'

export interface InboundOptions {
  readonly config: InboundConfig
  readonly services: readonly LocalServiceConfig[]
  readonly limits: LimitsConfig
  readonly credentials: MeshCredentials
  readonly strategies: StrategyRegistry
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly requestIds: RequestIds
  readonly observe?: RequestObserver
  readonly upgrades?: UpgradeTransport
  readonly onInternalError?: (err: InternalError, requestId: string) => void
  /** Open client connections allowed (the effective cap). */
  readonly maxConnections: number
  readonly onRefused?: (reason: RefusalReason) => void
  readonly onDescriptorsExhausted?: () => void
  /** Counts client connections (connection-counts.ts). */
  readonly connections?: ConnectionCount
  /** Pools to the local apps (default: an UndiciTransport of its own). */
  readonly transport?: Transport
}

const NO_RETRY: RetryPolicyConfig = Object.freeze({
  attempts: 1,
  perTryTimeoutMs: 0,
  on: Object.freeze([]),
  methods: Object.freeze([]),
  backoffBaseMs: DEFAULTS.backoffBaseMs,
  backoffMaxMs: DEFAULTS.backoffMaxMs,
  maxBufferedBody: 0,
})

export class Inbound implements Startable {
  readonly listener: Listener
  readonly gate: InboundGate
  readonly forwarder: Forwarder
  private readonly options: InboundOptions
  private readonly transport: Transport
  private endpoints: ServiceEndpoints[] = []
  /** SNI (lower case) -> local service name. */
  private names = new Map<string, string>()
  private unsubscribe: (() => void) | undefined

  constructor(options: InboundOptions) {
    this.options = options
    const { credentials, clock, limits } = options
    this.transport = options.transport ?? new UndiciTransport({ upstreamOf: () => DEFAULTS.upstream })
    this.gate = new InboundGate({ cluster: credentials.cluster, services: options.services, clock, logger: options.logger })
    this.forwarder = new Forwarder({
      listener: INBOUND_LISTENER,
      routes: this.routes(options.services),
      limits,
      requestIds: options.requestIds,
      clock,
      observe: options.observe,
      upgrades: options.upgrades,
      onInternalError: options.onInternalError,
      tries: tryCounter(),
      gate: this.gate,
    })
    const config: ListenerConfig = Object.freeze({ name: INBOUND_LISTENER, listen: options.config.listen, routes: Object.freeze([]), tls: undefined })
    const handshakeLog = options.logger
    this.listener = new Listener({
      config,
      limits,
      forwarder: this.forwarder,
      logger: options.logger,
      maxConnections: options.maxConnections,
      onRefused: options.onRefused,
      onDescriptorsExhausted: options.onDescriptorsExhausted,
      connections: options.connections,
      tls: {
        options: {
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          SNICallback: (servername, cb) => {
            try {
              cb(null, credentials.serverContext(this.names.get(servername.toLowerCase())))
            } catch (err) {
              cb(err as Error, undefined)
            }
          },
        },
        accept: (socket) => this.gate.identify(socket),
        // per connection: debug only (a scan of the port must not flood the log); counted as refused 'tls'
        onHandshakeError: (err) => handshakeLog.debug({ code: err.code, reason: err.message }, 'inbound TLS handshake failed'),
      },
    })
    this.listener.setDefaultContext(credentials.serverContext())
  }

  /** One route per local service, on its name (SNI or Host), to the app's own address. */
  private routes(services: readonly LocalServiceConfig[]): RouteTable<RouteTarget> {
    const { clock, random, strategies } = this.options
    for (const eps of this.endpoints) for (const ep of eps.snapshot.all) void this.transport.release(ep)
    this.endpoints = []
    this.names = new Map(services.map((s) => [s.name.toLowerCase(), s.name]))
    return new RouteTable(
      services.map((s) => {
        const serviceConfig = localServiceConfig(s)
        const endpoints = new ServiceEndpoints({
          name: s.name,
          panicThreshold: 0,
          slowStartMs: 0,
          latencyDecayMs: DEFAULTS.latencyDecayMs,
          preferLocalZone: false,
          localZone: undefined,
          now: () => clock.now(),
        })
        endpoints.apply('local', [{ host: s.host, port: s.port, weight: 1, zone: undefined, tags: [] }])
        this.endpoints.push(endpoints)
        const route: RouteConfig = Object.freeze({
          name: `inbound:${s.name}`,
          match: Object.freeze({ host: s.name.toLowerCase(), pathPrefix: undefined, headers: Object.freeze([]) }),
          service: s.name,
          // the calling sidecar's route carries the timeout; here only limits.requestTimeout
          timeoutMs: 0,
          retries: NO_RETRY,
          strategy: undefined,
          tags: Object.freeze([]),
          explain: false,
        })
        const target: RouteTarget = {
          listener: INBOUND_LISTENER,
          route,
          serviceConfig,
          endpoints,
          balancer: createBalancer(strategies, { service: s.name, strategy: 'round-robin', hashFallback: 'round-robin', hashBalanceFactor: 0 }, random),
          retry: createRetry(NO_RETRY, random),
          send: compose([endpointStats(clock), grpcStatusLayer], this.transport.send),
          hashKey: undefined,
          explainFacts: undefined,
        }
        return { match: route.match, target }
      }),
    )
  }

  /** The local services after a reload (allow lists, addresses). `inbound.listen` needs a restart. */
  reconfigure(services: readonly LocalServiceConfig[]): void {
    this.gate.reconfigure(services)
    this.forwarder.setRoutes(this.routes(services))
  }

  address(): HostPort {
    return this.listener.address()
  }

  async start(): Promise<void> {
    await this.listener.start()
    this.unsubscribe = this.options.credentials.onChange(() => {
      try {
        this.listener.setDefaultContext(this.options.credentials.serverContext())
      } catch (err) {
        this.options.logger.error({ err }, 'inbound: the new server certificate cannot be used; the previous one stays')
      }
    })
  }

  drain(timeoutMs: number, graceMs = 0): Promise<boolean> {
    return this.listener.drain(timeoutMs, graceMs)
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    await this.listener.stop()
    await this.transport.destroy()
  }
}

/** The service config a local app's route target carries (defaults; nothing of it is tuned per app). */
function localServiceConfig(s: LocalServiceConfig): ServiceConfig {
  const U = DEFAULTS.upstream
  return Object.freeze({
    name: s.name,
    strategy: 'round-robin',
    hashKey: undefined,
    hashFallback: 'round-robin',
    hashBalanceFactor: 0,
    latencyDecayMs: DEFAULTS.latencyDecayMs,
    endpoints: Object.freeze([{ address: s.address, host: s.host, port: s.port, weight: 1, zone: undefined, tags: Object.freeze([]) }]),
    tags: Object.freeze([]),
    preferLocalZone: false,
    breaker: Object.freeze({ enabled: false, ...DEFAULTS.breaker }),
    healthCheck: undefined,
    outlierDetection: Object.freeze({ enabled: false, ...DEFAULTS.outlier }),
    panicThreshold: 0,
    slowStartMs: 0,
    concurrency: Object.freeze({ maxInFlight: 0, maxQueued: 0, queueTimeoutMs: 1_000 }),
    retryBudget: DEFAULTS.retryBudget,
    upstream: U,
    protocol: 'http1',
    tls: undefined,
  })
}
