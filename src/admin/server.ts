/**
 * The admin HTTP server: a separate listener (never the data port) serving probes, metrics, the
 * JSON API, the live event stream and the dashboard. Startable: `start()` binds (port 0 allowed;
 * `address()` tells the bound one), `stop()` ends event streams and closes every connection and
 * is harmless twice. Refuses a non-loopback bind without a token, whatever the config said.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AdminConfig, HostPort } from '../config/types.js'
import { systemClock, type Clock } from '../clock.js'
import type { Startable } from '../lifecycle.js'
import type { AdminActions, AdminSource } from './view.js'
import type { Metrics } from './metrics.js'
import { EventStream } from './events.js'
import { SnapshotBuilder, type SnapshotOptions } from './snapshot.js'
import { adminRoutes, type AdminRoute } from './routes.js'
import { logLevelRoutes } from './log-level.js'
import { AdminActionRecorder } from './maintenance-log.js'
import { maintenanceRoutes } from './maintenance.js'
import { authorize, isExposed, type AccessPolicy } from './security.js'
import { dashboardAssets } from './dashboard/assets.js'
import { InternalError } from '../errors.js'
import type { LogLevels } from '../log-levels.js'
import { AdminInsecureBindError, AdminListenError, AdminMethodNotAllowedError, AdminNotFoundError } from './errors.js'
import { isCommyError, sendError } from './responses.js'

/** The part of a pino logger the admin server uses. */
export interface AdminLog {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
}

export interface AdminServerOptions {
  readonly config: AdminConfig
  readonly source: AdminSource
  readonly actions: AdminActions
  readonly metrics: Metrics
  readonly clock?: Clock
  readonly log?: AdminLog
  /** Dashboard event interval. Default 1000 ms. */
  readonly eventIntervalMs?: number
  readonly maxEventStreams?: number
  readonly snapshot?: SnapshotOptions
  /** Run-time log levels (GET/PUT /v1/log-level). */
  readonly logLevels?: LogLevels
}

const silent: AdminLog = { info() {}, warn() {}, error() {}, debug() {} }

export class AdminServer implements Startable {
  private readonly log: AdminLog
  private readonly events: EventStream
  private readonly routes: readonly AdminRoute[]
  private config: AdminConfig
  private server: Server | undefined
  private bound: HostPort | undefined
  private stopping: Promise<void> | undefined

  constructor(options: AdminServerOptions) {
    this.config = options.config
    this.log = options.log ?? silent
    const clock = options.clock ?? systemClock
    const snapshots = new SnapshotBuilder(options.source, clock, options.snapshot)
    this.events = new EventStream(() => snapshots.build(), clock, {
      intervalMs: options.eventIntervalMs ?? 1000,
      maxClients: options.maxEventStreams ?? 32,
      onError: (err) => this.log.error({ err }, 'admin: building the dashboard snapshot failed'),
    })
    const record = new AdminActionRecorder((action) => options.metrics.adminAction(action), (e) => this.events.publish(e.kind, e), this.log, () => clock.wallNow())
    this.routes = [
      ...adminRoutes({
        source: options.source,
        actions: options.actions,
        metrics: options.metrics,
        events: this.events,
        snapshot: () => snapshots.build(),
        assets: dashboardAssets(),
        clock,
        onDrainError: (err) => this.log.error({ err }, 'admin: drain failed'),
        record,
      }),
      ...maintenanceRoutes(options.actions, record),
    ]
    if (options.logLevels) this.routes = [...this.routes, ...logLevelRoutes({ levels: options.logLevels, counted: (action) => options.metrics.adminAction(action), log: this.log })]
  }

  /** The bound address (after start). */
  address(): HostPort {
    if (!this.bound) throw new Error('admin server is not listening')
    return this.bound
  }

  /** `http://host:port` of the bound address. */
  get url(): string {
    const { host, port } = this.address()
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  }

  async start(): Promise<void> {
    if (this.server) return
    const { listen, token } = this.config
    if (isExposed(listen.host) && !token) throw new AdminInsecureBindError(listen.host)
    const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => void this.handle(req, res))
    server.headersTimeout = 10_000
    server.requestTimeout = 30_000
    server.keepAliveTimeout = 5_000
    server.maxConnections = 256
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new AdminListenError(`${listen.host}:${listen.port}`, { cause: err }))
      server.once('error', onError)
      server.listen(listen.port, listen.host, () => {
        server.off('error', onError)
        resolve()
      })
    })
    server.on('error', (err) => this.log.error({ err }, 'admin: server error'))
    const addr = server.address() as AddressInfo
    this.server = server
    this.bound = { host: addr.address, port: addr.port }
    this.log.info({ address: this.url, token: token !== undefined }, 'admin server listening')
  }

  /**
   * A reloaded admin config: the token changes at once (rotation); a different listen address
   * needs a restart, so such a config is ignored whole (false), keeping the token that protects
   * the bound address.
   */
  updateConfig(next: AdminConfig): boolean {
    const cur = this.config.listen
    if (next.listen.host !== cur.host || next.listen.port !== cur.port) return false
    this.config = next
    return true
  }

  stop(): Promise<void> {
    if (!this.server) return Promise.resolve()
    this.stopping ??= new Promise<void>((resolve) => {
      this.events.stop()
      this.server!.close(() => resolve())
      this.server!.closeAllConnections()
    })
    return this.stopping
  }

  private policy(): AccessPolicy {
    return { token: this.config.token, listenHost: this.config.listen.host, port: this.bound?.port ?? 0 }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://admin.invalid')
    } catch {
      url = new URL('http://admin.invalid/')
    }
    if (method === 'POST') req.resume() // bodies are ignored; keep the socket reusable
    const path = url.pathname
    let params: string[] = []
    const matching = this.routes.filter((r) => {
      if (typeof r.path === 'string') return r.path === path
      const m = r.path.exec(path)
      if (m) params = m.slice(1).map(safeDecode)
      return m !== null
    })
    const route = matching.find((r) => r.method === method)
    const access = route?.access ?? matching[0]?.access ?? 'read'
    const refused = authorize(
      access,
      {
        host: req.headers.host,
        origin: header(req, 'origin'),
        secFetchSite: header(req, 'sec-fetch-site'),
        authorization: req.headers.authorization,
      },
      this.policy(),
    )
    try {
      if (refused) {
        this.log.debug({ path, method, code: refused.code, reason: refused.message }, 'admin: request refused')
        return sendError(res, refused)
      }
      if (!route) {
        if (matching.length > 0) throw new AdminMethodNotAllowedError(req.method ?? '', [...new Set(matching.map((r) => r.method))])
        throw new AdminNotFoundError(`no admin path ${path}`)
      }
      if (access === 'write') this.log.info({ path }, 'admin: action requested')
      await route.handle({ req, res, url, params })
    } catch (err) {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (isCommyError(err)) return sendError(res, err)
      this.log.error({ err, path }, 'admin: handler failed')
      sendError(res, new InternalError(`${path} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }))
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
