/**
 * The composition root: builds one sidecar from the frozen config — loggers, strategy registry,
 * endpoint registry fed by discovery sources, health source, transport, pipeline layers and one
 * listener per `listeners` entry — starts them in order and stops them in reverse. Wiring only:
 * every mechanism lives in its own module. No process.* here (that is main.ts).
 */
import type { HostPort, ListenerConfig, SidecarConfig } from './config/types.js'
import { systemClock, type Clock, type Random } from './clock.js'
import { StartOrder, type Startable } from './lifecycle.js'
import { createLogs, type Logs } from './log.js'
import type { InternalError } from './errors.js'
import { builtinStrategies, type StrategyRegistry } from './balancer/registry.js'
import type { DiscoverySource } from './discovery/discovery.js'
import { StaticDiscovery } from './discovery/static.js'
import { AlwaysHealthy, type HealthSource } from './health/health-source.js'
import { EndpointRegistry } from './discovery/registry.js'
import { compose, type Layer } from './pipeline/pipeline.js'
import { endpointStats, tryCounter, type EndpointStatsOptions } from './pipeline/endpoint-stats.js'
import { grpcStatusLayer } from './proxy/grpc-layer.js'
import type { RetryDecider } from './pipeline/retry-rules.js'
import type { ExplainFacts } from './proxy/explain.js'
import { Forwarder } from './proxy/forwarder.js'
import { Inbound, INBOUND_LISTENER } from './proxy/inbound.js'
import { Listener } from './proxy/listener.js'
import { connectionCap, DescriptorEpisodes, readNofile } from './proxy/descriptors.js'
import { Refusals, type OverloadCounters } from './proxy/overload.js'
import { ConnectionCounts, type ConnectionCounters } from './proxy/connection-counts.js'
import { RequestIds } from './proxy/request-id.js'
import { observers, type RequestObserver } from './proxy/request-record.js'
import { accessLog } from './proxy/access-log.js'
import { Balancers, buildRouteTable, type RouteTarget } from './proxy/targets.js'
import type { RouteTable } from './proxy/routes.js'
import type { Tracing } from './proxy/trace.js'
import type { Transport } from './transport/transport.js'
import { UndiciTransport } from './transport/undici.js'
import { HttpProxyUpgrades, type UpgradeTransport } from './transport/upgrade.js'
import { meshModeOf, OutboundTls } from './transport/outbound-tls.js'
import type { MeshCredentials } from './tls/credentials.js'
import { Maintenance } from './endpoint/maintenance.js'

export interface SidecarOptions {
  readonly config: SidecarConfig
  /** Loggers (default: from `config.log`). The sidecar closes them on stop. */
  readonly logs?: Logs
  /** Balancing strategies (default: the built-in ones). */
  readonly strategies?: StrategyRegistry
  /** Discovery sources besides the static endpoints of the config (e.g. gossip). */
  readonly sources?: readonly DiscoverySource[]
  /** Active health (default: every endpoint healthy). */
  readonly health?: HealthSource
  readonly clock?: Clock
  readonly random?: Random
  /** Extra per-try layers (breaker, outlier, metrics ...), outermost first; endpoint stats wrap the transport directly. */
  readonly layers?: readonly Layer[]
  /** Retry decisions (default: the retry rules' decideRetry, pipeline/retry-rules.ts). */
  readonly retryDecider?: RetryDecider
  /** Options of the endpoint-stats layer (the resilience plugin pauses latency while commy lags). */
  readonly endpointStats?: EndpointStatsOptions
  /** Facts added to `explain` answers per service (e.g. the retry budget left). */
  readonly explainFacts?: ExplainFacts
  /** Told about every finished request, besides the access log (metrics). */
  readonly observers?: readonly RequestObserver[]
  readonly transport?: Transport
  /** Request-id prefix (default: random per process). */
  readonly requestIdPrefix?: string
  /** The process's descriptor limit (default: the soft RLIMIT_NOFILE from /proc/self/limits; null = unknown). */
  readonly nofile?: number | null
  /** The mesh's TLS material (tls/credentials.ts); undefined = no mesh TLS. Mesh endpoints are dialled over mTLS with it; needed with `inbound`. */
  readonly credentials?: MeshCredentials
  /** Operator maintenance (endpoint/maintenance.ts); default: a fresh one (nothing in maintenance). */
  readonly maintenance?: Maintenance
  /** Traces the listeners' requests (tracing/tracer.ts with `tracing`); undefined = off. */
  readonly tracing?: Tracing
}

export class Sidecar implements Startable {
  readonly logs: Logs
  readonly registry: EndpointRegistry
  readonly transport: Transport
  /** The listeners serving now (a reload may replace some). */
  listeners: readonly Listener[]
  /** The mTLS inbound listener (`inbound`), or undefined. */
  readonly inbound: Inbound | undefined
  readonly staticDiscovery: StaticDiscovery
  /** The mesh's TLS material (undefined without `tls`): the inbound listener and mesh transport read it per connection. */
  readonly credentials: MeshCredentials | undefined
  /** Endpoints and local services an operator took out of rotation (the admin API's drain/undrain). */
  readonly maintenance: Maintenance
  /** Wall-clock ms of start(). */
  startedAt = 0
  private readonly order = new StartOrder()
  private readonly components: readonly Startable[]
  private readonly upgrades: UpgradeTransport
  private readonly clock: Clock
  private state: 'new' | 'running' | 'draining' | 'stopped' = 'new'
  /** Logs passed in by the caller are closed by the caller. */
  private readonly ownsLogs: boolean
  private stopping: Promise<void> | undefined
  private current: SidecarConfig
  /** Builds a listener's route table for a config (kept for reloads). */
  private readonly routeTable: (l: ListenerConfig, config: SidecarConfig) => RouteTable<RouteTarget>
  /** Builds a listener (kept for reloads that add or move listeners). */
  private readonly makeListener: (l: ListenerConfig, config: SidecarConfig) => Listener
  private readonly refusals = new Refusals()
  private readonly connectionCounts = new ConnectionCounts()
  private readonly episodes: DescriptorEpisodes
  /** Listeners replaced by a reload, still finishing their requests. */
  private readonly retired = new Set<Listener>()
  /** services.<name>.tls material, identity refusals of mesh endpoints, the mesh policy's warnings. */
  private readonly outboundTls: OutboundTls
  private readonly undici: UndiciTransport | undefined

  constructor(options: SidecarOptions) {
    const config = options.config
    this.current = config
    this.credentials = options.credentials
    const clock = (this.clock = options.clock ?? systemClock)
    const random = options.random ?? Math.random
    this.ownsLogs = options.logs === undefined
    this.logs = options.logs ?? createLogs(config.log, { base: { node: config.node.name } })
    const logger = this.logs.logger

    this.staticDiscovery = new StaticDiscovery(config.services)
    const health = options.health ?? new AlwaysHealthy()
    const sources = [this.staticDiscovery, ...(options.sources ?? [])]
    this.registry = new EndpointRegistry({
      services: config.services,
      localZone: config.node.zone,
      now: () => clock.now(),
      sources,
      health,
      meshMode: meshModeOf(config),
      onUnknownService: (service, source) => logger.debug({ service, source }, 'endpoints announced for a service that is not configured'),
    })
    this.maintenance = followMaintenance(options.maintenance ?? new Maintenance(), this.registry)
    const outboundTls = (this.outboundTls = new OutboundTls({
      config,
      clock,
      logger: logger.child({ component: 'tls' }),
      changed: (ep) => this.registry.service(ep.service)?.refresh(),
    }))
    this.undici = options.transport
      ? undefined
      : new UndiciTransport({
          upstreamOf: (service) => (this.current.services[service] ?? config.services[service])!.upstream,
          credentials: options.credentials,
          ownIdentity: (listener) => this.current.listeners.some((l) => l.name === listener && l.tls !== undefined),
          upstreamTls: (service) => outboundTls.upstreamTls(service),
          identity: outboundTls.refusals,
          protocolOf: (service) => (this.current.services[service] ?? config.services[service])?.protocol ?? 'http1',
        })
    const transport = (this.transport = options.transport ?? this.undici!)
    this.registry.on({
      added: (ep) => outboundTls.checkPolicy(ep),
      removed: (ep) => {
        outboundTls.refusals.forget(ep)
        void transport.release(ep)
      },
    })
    this.upgrades = new HttpProxyUpgrades({ tlsOnly: (ep) => ep.mtls || (ep.source === 'static' && outboundTls.upstreamTls(ep.service) !== undefined) })

    const send = compose([...(options.layers ?? []), endpointStats(clock, options.endpointStats), grpcStatusLayer], transport.send)
    // upgrades bypass the pipeline; they are counted on the endpoint stats by the same rules
    const tries = tryCounter(options.endpointStats)
    const strategies = options.strategies ?? builtinStrategies()
    const requestIds = new RequestIds(options.requestIdPrefix)
    const episodes = (this.episodes = new DescriptorEpisodes({
      clock,
      log: logger.child({ component: 'descriptors' }),
      // give descriptors back: keep-alive clients reconnect when they need to
      onStart: () => {
        for (const l of this.allListeners()) l.shed(true)
      },
      onEnd: () => {
        for (const l of this.allListeners()) l.shed(false)
      },
    }))
    const localResources: RequestObserver = (r) => {
      if (r.code === 'COMMY_ERR_LOCAL_RESOURCES') episodes.hit('connect')
    }
    const observerList = [...(this.logs.access ? [accessLog(this.logs.access, () => clock.wallNow(), { node: config.node.name, settings: this.logs.accessSettings })] : []), localResources, ...(options.observers ?? [])]
    const observe = observerList.length > 0 ? observers(observerList) : undefined
    this.routeTable = (l, cfg) => {
      // balancers are per config: a reload starts strategies afresh (stats live on the endpoints)
      const balancers = new Balancers(strategies, random)
      return buildRouteTable(l, {
        services: cfg.services,
        endpoints: (name) => this.registry.service(name),
        balancers,
        send,
        random,
        decide: options.retryDecider,
        explainFacts: options.explainFacts,
      })
    }
    const proxyLog = logger.child({ component: 'proxy' })
    const nofile = options.nofile === undefined ? readNofile() : (options.nofile ?? undefined)
    const listenerLog = logger.child({ component: 'listener' })
    this.makeListener = (l, cfg) => {
      const routes = this.routeTable(l, cfg)
      const onInternalError = (err: InternalError, requestId: string) =>
        proxyLog.error({ err, listener: l.name, requestId }, 'internal error: answered 500 COMMY_ERR_INTERNAL')
      const forwarder = new Forwarder({ listener: l.name, routes, limits: cfg.limits, requestIds, clock, observe, upgrades: this.upgrades, onInternalError, tries, tracing: options.tracing })
      const maxConnections = connectionCap(cfg.limits.maxConnections, nofile, cfg.listeners.length + (cfg.inbound ? 1 : 0))
      listenerLog.info({ listener: l.name, maxConnections, configured: cfg.limits.maxConnections, nofile: nofile ?? null }, 'connection limit')
      const refused = this.refusals.of(l.name)
      return new Listener({
        config: l,
        limits: cfg.limits,
        forwarder,
        logger: listenerLog,
        maxConnections,
        onRefused: (reason) => refused[reason]++,
        onDescriptorsExhausted: () => episodes.hit('accept'),
        connections: this.connectionCounts.of(l.name),
      })
    }
    this.listeners = config.listeners.map((l) => this.makeListener(l, config))
    this.inbound = config.inbound && this.inboundListener(options, { requestIds, observe, strategies, random, nofile, log: logger.child({ component: 'inbound' }), proxyLog })

    const closeTransport: Startable = {
      start() {},
      stop: () => (this.state === 'draining' ? transport.close() : transport.destroy()),
    }
    const closeUpgrades: Startable = { start() {}, stop: () => this.upgrades.close() }
    const listeners: Startable = {
      start: async () => {
        const started: Listener[] = []
        try {
          for (const l of this.listeners) {
            await l.start()
            started.push(l)
          }
          await this.inbound?.start()
        } catch (err) {
          await Promise.all(started.map((l) => l.stop()))
          throw err
        }
      },
      stop: async () => {
        await Promise.all([...[...this.retired, ...this.listeners].map((l) => l.stop()), this.inbound?.stop()])
      },
    }
    this.components = [episodes, outboundTls, health, ...sources, this.registry, closeTransport, closeUpgrades, listeners]
  }

  get logger() {
    return this.logs.logger
  }

  /** Builds the mTLS inbound listener (proxy/inbound.ts). */
  private inboundListener(
    options: SidecarOptions,
    p: { requestIds: RequestIds; observe: RequestObserver | undefined; strategies: StrategyRegistry; random: Random; nofile: number | undefined; log: Logs['logger']; proxyLog: Logs['logger'] },
  ): Inbound {
    const cfg = options.config
    if (options.credentials === undefined) throw new Error('inbound is set but the sidecar has no mesh credentials (tls)')
    const refused = this.refusals.of(INBOUND_LISTENER)
    return new Inbound({
      config: cfg.inbound!,
      services: cfg.local.services,
      limits: cfg.limits,
      credentials: options.credentials,
      strategies: p.strategies,
      clock: this.clock,
      random: p.random,
      logger: p.log,
      requestIds: p.requestIds,
      observe: p.observe,
      upgrades: this.upgrades,
      onInternalError: (err, requestId) => p.proxyLog.error({ err, listener: INBOUND_LISTENER, requestId }, 'internal error: answered 500 COMMY_ERR_INTERNAL'),
      maxConnections: connectionCap(cfg.limits.maxConnections, p.nofile, cfg.listeners.length + 1),
      onRefused: (reason) => refused[reason]++,
      onDescriptorsExhausted: () => this.episodes.hit('accept'),
      connections: this.connectionCounts.of(INBOUND_LISTENER),
    })
  }

  /** Every listener serving or finishing requests (outbound, replaced ones, inbound). */
  private allListeners(): Listener[] {
    return [...this.listeners, ...this.retired, ...(this.inbound ? [this.inbound.listener] : [])]
  }

  /** The bound address of the mTLS inbound listener (undefined without `inbound`, or before start). */
  inboundAddress(): HostPort | undefined {
    try {
      return this.inbound?.address()
    } catch {
      return undefined
    }
  }

  /** What the data plane refused or dropped so far (read at scrape time). */
  overload(): OverloadCounters {
    return { refused: this.refusals.all, accessLogDropped: this.logs.dropped(), descriptorExhaustion: this.episodes.counts(), authz: this.inbound?.gate.decisions }
  }

  /** Client connections per listener, and upstream connections per endpoint, so far (read at scrape time). */
  connections(): ConnectionCounters {
    return { downstream: this.connectionCounts.all, upstream: this.undici?.connectionCounts() ?? [] }
  }

  /** Mesh endpoints refused for their identity so far, per service (read at scrape time). */
  identityMismatches(): ReadonlyMap<string, number> {
    return this.outboundTls.refusals.counts()
  }

  /** The active config (a reload replaces it). */
  get config(): SidecarConfig {
    return this.current
  }

  /**
   * Applies a new config without dropping a connection: services (endpoints keep their stats,
   * removed ones are closed), static endpoints, routes and `log` (log.ts). Listeners whose address changed, and
   * new ones, are bound first (a bind failure rejects and changes nothing); replaced and removed
   * listeners then drain their requests in the background. `limits` need a restart.
   */
  async reload(next: SidecarConfig): Promise<void> {
    const prev = this.current
    const applyTls = this.outboundTls.prepare(next) // services.<name>.tls files: a bad one refuses the reload here
    const byName = new Map(this.listeners.map((l) => [l.name, l]))
    const moved = (l: ListenerConfig) => {
      const old = byName.get(l.name)
      return old === undefined || old.config.listen.host !== l.listen.host || old.config.listen.port !== l.listen.port
    }
    // bind new and moved listeners before anything changes
    const fresh = new Map<string, Listener>()
    if (this.state === 'running') {
      try {
        for (const l of next.listeners) {
          if (!moved(l)) continue
          const listener = this.makeListener(l, next)
          fresh.set(l.name, listener)
          await listener.start()
        }
      } catch (err) {
        await Promise.all([...fresh.values()].map((l) => l.stop()))
        throw err
      }
    }
    const apply = (cfg: SidecarConfig) => {
      this.current = cfg
      this.registry.reconfigure(cfg.services, meshModeOf(cfg))
      this.staticDiscovery.update(cfg.services)
      for (const l of cfg.listeners) if (!fresh.has(l.name)) byName.get(l.name)?.forwarder.setRoutes(this.routeTable(l, cfg))
      this.inbound?.reconfigure(cfg.local.services)
    }
    try {
      apply(next)
    } catch (err) {
      apply(prev) // e.g. a strategy that is not registered: keep serving the old config
      await Promise.all([...fresh.values()].map((l) => l.stop()))
      throw err
    }
    void this.undici?.refreshTls(applyTls())
    for (const ep of this.registry.endpoints()) this.outboundTls.checkPolicy(ep)
    if (this.state === 'running') {
      const keep = new Set(next.listeners.map((l) => l.name))
      const out = this.listeners.filter((l) => !keep.has(l.name) || fresh.has(l.name))
      this.listeners = next.listeners.map((l) => fresh.get(l.name) ?? byName.get(l.name)!)
      for (const old of out) {
        this.retired.add(old)
        this.logger.info({ listener: old.name, address: old.address() }, 'listener replaced: draining it')
        void old
          .drain(next.limits.drainTimeoutMs)
          .catch((err: unknown) => this.logger.warn({ err, listener: old.name }, 'draining a replaced listener failed'))
          .finally(() => this.retired.delete(old))
      }
    }
    if (JSON.stringify(next.inbound) !== JSON.stringify(prev.inbound)) this.logger.warn('inbound settings changed: they apply after a restart')
    if (JSON.stringify(next.limits) !== JSON.stringify(prev.limits)) this.logger.warn('limits settings changed: they apply after a restart')
    if (JSON.stringify(next.log) !== JSON.stringify(prev.log)) {
      if (this.logs.reconfigure) {
        this.logs.reconfigure(next.log)
        this.logger.info({ log: next.log, previous: prev.log }, 'log settings applied')
      } else this.logger.warn('log settings changed: these logs cannot change while running (restart to apply them)')
    }
    this.logger.info({ version: next.version, previous: prev.version, listeners: this.addresses() }, 'config reloaded')
  }

  /** Starts every component in order (a failure stops those already started and rethrows). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('a sidecar starts once')
    this.state = 'running'
    this.startedAt = this.clock.wallNow()
    try {
      await this.order.start(this.components)
    } catch (err) {
      this.state = 'stopped'
      await this.closeLogs()
      throw err
    }
    this.logger.info({ listeners: this.addresses(), services: Object.keys(this.config.services).length, version: this.config.version }, 'sidecar started')
  }

  private async closeLogs(): Promise<void> {
    if (this.ownsLogs) await this.logs.close()
  }

  /** Bound address of every listener, by name (port 0 in the config shows the real port). */
  addresses(): Record<string, HostPort> {
    const out: Record<string, HostPort> = {}
    for (const l of this.listeners) out[l.name] = l.address()
    return out
  }

  /** Bound address of one listener (default: the first). */
  address(listener?: string): HostPort {
    const l = listener === undefined ? this.listeners[0] : this.listeners.find((x) => x.name === listener)
    if (!l) throw new Error(`no listener named ${listener}`)
    return l.address()
  }

  /** Requests being handled by all listeners. */
  get inFlight(): number {
    let n = 0
    for (const l of this.listeners) n += l.forwarder.inFlight
    if (this.inbound) n += this.inbound.forwarder.inFlight
    return n
  }

  get draining(): boolean {
    return this.state === 'draining' || this.state === 'stopped'
  }

  /**
   * Graceful stop: responses carry `Connection: close`, listeners keep accepting for `graceMs`
   * (default 0; the Runtime passes `limits.drainGrace`), then stop accepting; requests in flight
   * finish for up to `timeoutMs` (default `limits.drainTimeout`), then everything stops.
   * Resolves whether all finished.
   */
  async drain(timeoutMs: number = this.config.limits.drainTimeoutMs, graceMs = 0): Promise<boolean> {
    const completed = this.state === 'running' ? await this.drainListeners(timeoutMs, graceMs) : true
    await this.stop()
    return completed
  }

  /**
   * The listeners' part of drain() (the rest keeps running, so `undrain()` can reverse it; the
   * Runtime's drain). Resolves whether all requests in flight finished.
   */
  async drainListeners(timeoutMs: number = this.config.limits.drainTimeoutMs, graceMs = 0): Promise<boolean> {
    if (this.state !== 'running') return true
    this.state = 'draining'
    const inFlight = this.inFlight
    this.logger.info({ inFlight, timeoutMs, graceMs }, 'draining')
    const results = await Promise.all([...this.listeners, ...(this.inbound ? [this.inbound] : [])].map((l) => l.drain(timeoutMs, graceMs)))
    const completed = results.every(Boolean)
    this.logger.info({ completed, left: this.inFlight }, completed ? 'drained' : 'drain timeout: closing remaining connections')
    return completed
  }

  /** After drainListeners() (not stop()): every listener accepts again at its address; a no-op otherwise. */
  async undrain(): Promise<void> {
    if (this.state !== 'draining' || this.stopping !== undefined) return
    await Promise.all([...this.listeners.map((l) => l.resume()), this.inbound?.listener.resume()])
    this.state = 'running'
    this.logger.info({ listeners: this.addresses() }, 'undrained: listeners accept again')
  }

  /** Stops at once (connections closed, pools destroyed unless drained). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.state === 'new') {
        this.state = 'stopped'
        await this.closeLogs()
        return
      }
      await this.order.stop()
      this.state = 'stopped'
      this.logger.info('sidecar stopped')
      await this.closeLogs()
    })()
    return this.stopping
  }
}

/** Endpoints follow the operator's maintenance: on appearing (by id, so it survives reloads and re-announcements) and on each change. */
function followMaintenance(maintenance: Maintenance, registry: EndpointRegistry): Maintenance {
  registry.on({ added: (ep) => void (ep.maintenance = maintenance.endpoint(ep.id)) })
  maintenance.on({
    changed: (c) => {
      if (c.target !== 'endpoint') return
      const ep = registry.endpoints().find((e) => e.id === c.id)
      if (ep === undefined) return
      ep.maintenance = c.on
      registry.service(ep.service)?.refresh()
    },
  })
  return maintenance
}
