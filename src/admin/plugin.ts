/**
 * The admin plugin: the operator's side of one running commy — the admin server (probes,
 * /metrics, the JSON API, the live dashboard) over the Runtime's parts, the Prometheus metrics
 * fed by a request observer and by the other plugins' events, and the opt-in config file watcher.
 * With `probes.listen`, also the probe listener (probe-server.ts: /healthz, /readyz, /metrics for
 * the platform, off loopback). Reload and drain are the Runtime's (`parts.reload()`,
 * `parts.drain()`); this plugin only asks. The Runtime starts it first (so /readyz answers 503
 * while the rest starts) and stops it last. A changed `admin.listen` or `probes.listen` needs a
 * restart (logged); the running listeners keep serving.
 */
import type { AdminConfig, HostPort, ProbesConfig, SidecarConfig } from '../config/types.js'
import type { DataPlaneView, Plugin, PluginDeps } from '../plugins/plugin.js'
import { ConfigWatcher } from './config-watch.js'
import { maintenanceAction } from './maintenance.js'
import { subscribeFeeds } from './feeds.js'
import { declaredRoutes, goldenReader } from './golden-signals.js'
import { Metrics } from './metrics.js'
import { requestMetrics } from './request-observer.js'
import { runtimeSourceParts, type AdminParts } from './runtime-source.js'
import { AdminServer, type AdminServerOptions } from './server.js'
import { ProbeServer } from './probe-server.js'
import { platformRoutes } from './routes.js'
import { createAdminSource } from './source.js'
import { packageVersion } from './version.js'
import type { AdminSource } from './view.js'

export interface AdminPlugin extends Plugin {
  /** Bound admin address (after start). */
  address(): { host: string; port: number } | undefined
  /** Bound probe listener address (after start; undefined without `probes`). */
  probesAddress(): HostPort | undefined
  /** Counts a config reload attempt (SIGHUP, POST /v1/reload, file watch). */
  configReload(ok: boolean): void
  /** `http://host:port` of the admin server and dashboard (after start). */
  url(): string | undefined
  readonly metrics: Metrics
  /** What the admin API shows (the same object the server reads). */
  readonly source: AdminSource
  /** The config file watcher, when `admin.watchConfig` is on and the config came from a file. */
  readonly watcher: () => ConfigWatcher | undefined
}

export interface AdminPluginDeps extends PluginDeps {
  readonly parts: AdminParts
  /** Overrides for tests (event interval, snapshot sizes). */
  readonly server?: Pick<AdminServerOptions, 'eventIntervalMs' | 'maxEventStreams' | 'snapshot'>
  /** Debounce of the config watcher (default 250 ms). */
  readonly watchDebounceMs?: number
  /** Node's process metrics in /metrics (default true). */
  readonly defaultMetrics?: boolean
}

export function createAdminPlugin(deps: AdminPluginDeps): AdminPlugin {
  const { parts, clock, logger } = deps
  let dataPlane: DataPlaneView | undefined
  const metrics = new Metrics({ defaultMetrics: deps.defaultMetrics, clock })
  const golden = goldenReader(metrics, parts.health.history)
  const source = createAdminSource({ ...runtimeSourceParts(parts, () => dataPlane, clock, packageVersion()), golden })
  metrics.setSource(source)
  const server = new AdminServer({
    ...deps.server,
    config: deps.config.admin,
    source,
    actions: {
      reload: () => parts.reload(),
      drain: () => parts.drain(),
      undrain: () => parts.undrain(),
      maintenance: maintenanceAction(parts.maintenance, () => dataPlane?.endpoints.endpoints() ?? [], parts.config),
    },
    metrics,
    clock,
    log: logger,
    logLevels: parts.logLevels,
  })
  const probesConfig: ProbesConfig | undefined = deps.config.probes
  const probes = probesConfig && new ProbeServer({ listen: probesConfig.listen, routes: platformRoutes({ source, metrics }), log: logger })
  let admin: AdminConfig = deps.config.admin
  let watcher: ConfigWatcher | undefined
  let unsubscribe: (() => void) | undefined
  let state: 'new' | 'running' | 'stopped' = 'new'

  /** Starts or stops the watcher to match the admin config (it may change on reload). */
  const followWatchSetting = (config: SidecarConfig) => {
    const want = config.admin.watchConfig && config.file !== ''
    if (want && !watcher) {
      watcher = new ConfigWatcher({ file: config.file, reload: () => parts.reload(), clock, log: logger, debounceMs: deps.watchDebounceMs })
      watcher.start()
    } else if (!want && watcher) {
      watcher.stop()
      watcher = undefined
    }
  }

  return {
    metrics,
    source,
    observers: [requestMetrics(metrics)],
    watcher: () => watcher,
    attach(view: DataPlaneView) {
      dataPlane = view
      unsubscribe = subscribeFeeds(metrics, { registry: view.endpoints, resilience: parts.resilience, health: parts.health, gossip: parts.gossip, overload: () => view.overload(), identityMismatches: view.identityMismatches && (() => view.identityMismatches!()), connections: view.connections && (() => view.connections!()), traceSpans: parts.traceSpans })
      metrics.declareRoutes(declaredRoutes(deps.config))
    },
    async start() {
      if (state !== 'new') return
      await server.start()
      try {
        await probes?.start()
      } catch (err) {
        await server.stop()
        throw err
      }
      state = 'running'
      followWatchSetting(parts.config())
    },
    async stop() {
      if (state === 'running') state = 'stopped'
      watcher?.stop()
      watcher = undefined
      unsubscribe?.()
      unsubscribe = undefined
      await Promise.all([probes?.stop(), server.stop()])
    },
    reload(config: SidecarConfig) {
      metrics.declareRoutes(declaredRoutes(config))
      if (!sameListen(config.probes?.listen, probesConfig?.listen)) {
        logger.warn({ listen: config.probes?.listen, serving: probesConfig?.listen }, 'probes.listen changed: restart to apply it (the probe listener keeps serving as before)')
      }
      if (!server.updateConfig(config.admin)) {
        logger.warn({ listen: config.admin.listen, serving: admin.listen }, 'admin.listen changed: restart to apply it (admin settings unchanged)')
        return
      }
      admin = config.admin
      if (state === 'running') followWatchSetting(config)
    },
    address: () => (state === 'running' ? safeAddress(server) : undefined),
    probesAddress: () => (state === 'running' ? probes?.address() : undefined),
    url: () => (state === 'running' ? server.url : undefined),
    configReload: (ok) => metrics.configReload(ok),
  }
}

function safeAddress(server: AdminServer): HostPort | undefined {
  try {
    return server.address()
  } catch {
    return undefined
  }
}

function sameListen(a: HostPort | undefined, b: HostPort | undefined): boolean {
  return a?.host === b?.host && a?.port === b?.port
}
