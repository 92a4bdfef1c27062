/**
 * Runtime: one commy process's worth of parts — the data-plane Sidecar plus the plugins
 * (resilience, health, gossip, admin) — built from one frozen config, started in order, reloaded
 * together and drained together. Wiring only; every mechanism lives in its own module.
 *
 * Start: admin (so /readyz answers 503 while starting) -> sidecar -> health -> resilience ->
 * gossip (join). Drain: readiness fails, gossip leaves (peers stop sending), in-flight requests
 * finish, listeners close; undrain reverses it. Stop: reverse of start.
 */
import type { SidecarConfig } from './config/types.js'
import { systemClock, type Clock, type Random } from './clock.js'
import { createLogs, type Logs } from './log.js'
import { LogLevels } from './log-levels.js'
import { Sidecar } from './sidecar.js'
import type { StrategyRegistry } from './balancer/registry.js'
import { StartOrder } from './lifecycle.js'
import { createResiliencePlugin, type ResiliencePlugin } from './plugins/resilience.js'
import { createHealthPlugin, type HealthPlugin } from './plugins/health.js'
import { createGossipPlugin, type GossipPlugin } from './plugins/gossip.js'
import { createAdminPlugin, type AdminPlugin } from './admin/plugin.js'
import type { AdminParts, ReloadResult } from './admin/runtime-source.js'
import type { DataPlaneView, Plugin } from './plugins/plugin.js'
import { TlsStore } from './tls/store.js'
import { ConfigError } from './errors.js'
import { Maintenance } from './endpoint/maintenance.js'
import { Tracer } from './tracing/tracer.js'
import { packageVersion } from './admin/version.js'

export interface RuntimeOptions {
  readonly config: SidecarConfig
  readonly logs?: Logs
  readonly clock?: Clock
  readonly random?: Random
  readonly strategies?: StrategyRegistry
  /** Loads the config again (the file behind SIGHUP, POST /v1/reload and file watching). Throws ConfigError. */
  readonly loadConfig?: () => SidecarConfig
}

export type { ReloadResult } from './admin/runtime-source.js'

export class Runtime {
  readonly sidecar: Sidecar
  readonly resilience: ResiliencePlugin
  readonly health: HealthPlugin
  readonly gossip: GossipPlugin | undefined
  readonly admin: AdminPlugin
  /** The mesh's TLS material, when `tls` is set (watched, rotated; reloads check it first). */
  readonly tls: TlsStore | undefined
  /** OpenTelemetry tracing, when `tracing` is set (switching it on or off needs a restart). */
  readonly tracer: Tracer | undefined
  readonly logs: Logs
  /** Run-time log levels (PUT /v1/log-level, `log.level` on reload). */
  readonly logLevels: LogLevels
  private readonly order = new StartOrder()
  private readonly plugins: readonly Plugin[]
  private readonly loadConfig: (() => SidecarConfig) | undefined
  private state: 'new' | 'starting' | 'running' | 'draining' | 'stopped' = 'new'
  private draining: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  /** An undrain in progress (concurrent calls share it). */
  private undraining: Promise<boolean> | undefined
  private readonly ownsLogs: boolean

  constructor(options: RuntimeOptions) {
    const config = options.config
    const clock = options.clock ?? systemClock
    const random = options.random ?? Math.random
    this.ownsLogs = options.logs === undefined
    this.logs = options.logs ?? createLogs(config.log, { base: { node: config.node.name } })
    this.loadConfig = options.loadConfig
    const logger = this.logs.logger
    this.logLevels = this.logs.levels ?? new LogLevels(logger)
    // the config the data plane serves (during a reload: the new one, before plugins hear of it)
    const currentConfig = (): SidecarConfig => (this.sidecar as Sidecar | undefined)?.config ?? config
    const deps = (component: string) => ({ config, currentConfig, clock, random, logger: logger.child({ component }) })
    // throws ConfigError (exit 2) when a TLS file is missing or fails a check
    try {
      this.tls = config.tls ? new TlsStore({ config, log: logger.child({ component: 'tls' }), clock }) : undefined
    } catch (err) {
      if (this.ownsLogs) void this.logs.close()
      throw err
    }

    const maintenance = new Maintenance()
    this.resilience = createResiliencePlugin(deps('resilience'))
    const tracer = (this.tracer = config.tracing && new Tracer({ config: config.tracing, node: config.node.name, version: packageVersion(), clock, random, logger: logger.child({ component: 'tracing' }) }))
    if (tracer) this.resilience.on(tracer.marks.events)
    this.health = createHealthPlugin({ ...deps('health'), resilience: this.resilience })
    this.gossip = config.gossip
      ? createGossipPlugin({ ...deps('gossip'), gossip: config.gossip, health: this.health, resilience: this.resilience, adminAddress: () => this.admin.address(), inboundAddress: () => (this.sidecar as Sidecar | undefined)?.inboundAddress(), maintenance })
      : undefined
    const parts: AdminParts = {
      resilience: this.resilience,
      health: this.health,
      gossip: this.gossip,
      config: () => this.sidecar.config,
      readiness: () => this.readiness(),
      reload: () => this.reload(),
      drain: () => this.drain(),
      undrain: () => this.undrain(),
      draining: () => this.state === 'draining' || this.state === 'stopped',
      logLevels: this.logLevels,
      maintenance,
      traceSpans: tracer && (() => tracer.counts()),
    }
    this.admin = createAdminPlugin({ ...deps('admin'), parts })

    const plugins: Plugin[] = [this.resilience, this.health, ...(this.gossip ? [this.gossip] : []), this.admin]
    this.plugins = plugins
    this.sidecar = new Sidecar({
      config,
      logs: this.logs,
      clock,
      random,
      strategies: options.strategies,
      health: this.health.health,
      sources: plugins.flatMap((p) => p.sources ?? []),
      layers: plugins.flatMap((p) => p.layers ?? []),
      observers: plugins.flatMap((p) => p.observers ?? []),
      retryDecider: this.resilience.retryDecider,
      endpointStats: this.resilience.endpointStats,
      explainFacts: this.resilience.explainFacts,
      credentials: this.tls,
      maintenance,
      tracing: tracer,
    })
    const sidecar = this.sidecar
    const dataPlane: DataPlaneView = {
      endpoints: sidecar.registry,
      get startedAt() {
        return sidecar.startedAt
      },
      overload: () => sidecar.overload(),
      tls: this.tls,
      identityMismatches: () => sidecar.identityMismatches(),
      connections: () => sidecar.connections(),
    }
    for (const p of plugins) p.attach?.(dataPlane)
  }

  get config(): SidecarConfig {
    return this.sidecar.config
  }

  get logger() {
    return this.logs.logger
  }

  /** Ready when started, not draining, and joined to the gossip cluster when one is configured. */
  readiness(): { ready: boolean; reason?: string } {
    if (this.state === 'new' || this.state === 'starting') return { ready: false, reason: 'starting' }
    if (this.state !== 'running') return { ready: false, reason: 'draining' }
    if (this.gossip) {
      const g = this.gossip.readiness()
      if (!g.ready) return g
    }
    return { ready: true }
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('a runtime starts once')
    this.state = 'starting'
    const sidecar = this.sidecar
    const sidecarPart = { start: () => sidecar.start(), stop: () => sidecar.stop() }
    try {
      await this.order.start([this.admin, ...(this.tls ? [this.tls] : []), ...(this.tracer ? [this.tracer] : []), sidecarPart, this.health, this.resilience, ...(this.gossip ? [this.gossip] : [])])
    } catch (err) {
      this.state = 'stopped'
      if (this.ownsLogs) await this.logs.close()
      throw err
    }
    this.state = 'running'
  }

  /** Validates and applies the config file again; a bad one changes nothing. */
  async reload(): Promise<ReloadResult> {
    if (!this.loadConfig) return { ok: false, error: 'no config file to reload' }
    let next: SidecarConfig
    try {
      next = this.loadConfig()
      // the TLS files are checked before anything is applied: a bad one refuses the whole reload
      const staged = this.stageTls(next)
      await this.apply(next)
      if (staged) this.tls?.commit(staged)
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err)
      this.admin.configReload(false)
      this.logger.error({ error, serving: this.sidecar.config.version }, 'config reload refused')
      return { ok: false, error }
    }
    this.admin.configReload(true)
    return { ok: true, version: next.version }
  }

  private stageTls(next: SidecarConfig) {
    if (this.tls) return this.tls.stage(next)
    if (next.tls) throw new ConfigError(next.file, [{ path: 'tls', message: 'adding the mesh tls needs a restart' }])
    return undefined
  }

  /** Applies an already validated config (throws, changing nothing, when it cannot be applied). */
  async apply(next: SidecarConfig): Promise<void> {
    await this.sidecar.reload(next)
    for (const p of this.plugins) p.reload?.(next)
    if (this.tracer) this.tracer.reload(next.tracing)
    else if (next.tracing) this.logger.warn('tracing added to the config: it starts after a restart')
  }

  /**
   * Drain: /readyz fails at once; at the same moment the node starts leaving the gossip cluster
   * (peers stop routing to its services within about a second) and every response carries
   * Connection: close while the listeners keep accepting for `limits.drainGrace`; then the
   * listeners stop accepting and in-flight requests finish (up to `limits.drainTimeout`).
   * Resolves when both the leave and the listeners are done. The admin server stays up until stop().
   */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      if (this.state !== 'running') return
      this.state = 'draining'
      const leaving = this.gossip?.leave().catch((err) => this.logger.warn({ err }, 'gossip leave failed'))
      const limits = this.sidecar.config.limits
      await Promise.all([leaving, this.sidecar.drainListeners(limits.drainTimeoutMs, limits.drainGraceMs)])
    })()
    return this.draining
  }

  /**
   * Reverses drain() (after waiting for one in progress): the listeners accept again at the same
   * addresses, /readyz answers 200 (once gossip has re-joined, when configured), and the node is
   * alive again in the gossip cluster with its local services announced. False when not draining
   * (or already stopped).
   */
  undrain(): Promise<boolean> {
    this.undraining ??= this.reopen().finally(() => (this.undraining = undefined))
    return this.undraining
  }

  private async reopen(): Promise<boolean> {
    if (this.state !== 'draining' || this.draining === undefined) return false
    await this.draining
    if (this.state !== 'draining') return false // stopped meanwhile
    await this.sidecar.undrain()
    this.draining = undefined
    this.state = 'running'
    await this.gossip?.rejoin().catch((err) => this.logger.warn({ err }, 'gossip rejoin failed'))
    this.logger.info({ listeners: this.sidecar.addresses() }, 'undrained: serving again')
    return true
  }

  /** Stops everything in reverse order. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.state === 'new') {
        this.state = 'stopped'
        await this.sidecar.stop()
      } else {
        await this.order.stop()
        this.state = 'stopped'
      }
      if (this.ownsLogs) await this.logs.close()
    })()
    return this.stopping
  }
}
