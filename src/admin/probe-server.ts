/**
 * The probe listener (`probes.listen`): what the platform calls — the kubelet's liveness and
 * readiness probes, Prometheus, a Docker HEALTHCHECK — on an address it can reach (the pod IP,
 * 0.0.0.0), while the admin API stays on loopback. Like Linkerd's 4191 and Istio's 15020 it
 * answers only GET/HEAD `/healthz`, `/readyz` and `/metrics` (the admin server's own handlers,
 * routes.ts `platformRoutes`): nothing that changes state or shows config, so no token and no
 * Host check. Anything else is 404, any other method 405 (and the connection closes: no body is
 * read). Small limits: 8 KiB of headers, 5 s to send them, 10 s per request, 64 connections.
 * Startable: `start()` binds (port 0 allowed), `stop()` closes every connection, harmless twice.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HostPort } from '../config/types.js'
import type { Startable } from '../lifecycle.js'
import { InternalError } from '../errors.js'
import type { AdminLog } from './server.js'
import type { AdminRoute } from './routes.js'
import { AdminMethodNotAllowedError, AdminNotFoundError, ProbesListenError } from './errors.js'
import { isCommyError, sendError } from './responses.js'

export interface ProbeServerOptions {
  readonly listen: HostPort
  /** GET routes with exact paths (routes.ts `platformRoutes`). */
  readonly routes: readonly AdminRoute[]
  readonly log: AdminLog
}

/** The limits of the probe listener: callers are the platform's agents, with tiny requests. */
export const PROBE_LIMITS = Object.freeze({ maxHeaderSize: 8 * 1024, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxConnections: 64 })

const ALLOWED = ['GET', 'HEAD'] as const

export class ProbeServer implements Startable {
  private readonly routes: ReadonlyMap<string, AdminRoute>
  private server: Server | undefined
  private bound: HostPort | undefined
  private stopping: Promise<void> | undefined

  constructor(private readonly options: ProbeServerOptions) {
    this.routes = new Map(options.routes.filter((r) => r.method === 'GET' && typeof r.path === 'string').map((r) => [r.path as string, r]))
  }

  /** The bound address (after start). */
  address(): HostPort | undefined {
    return this.bound
  }

  async start(): Promise<void> {
    if (this.server || this.stopping) return
    const { listen, log } = this.options
    const server = createServer({ maxHeaderSize: PROBE_LIMITS.maxHeaderSize }, (req, res) => void this.handle(req, res))
    server.headersTimeout = PROBE_LIMITS.headersTimeoutMs
    server.requestTimeout = PROBE_LIMITS.requestTimeoutMs
    server.keepAliveTimeout = PROBE_LIMITS.keepAliveTimeoutMs
    server.maxConnections = PROBE_LIMITS.maxConnections
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new ProbesListenError(`${listen.host}:${listen.port}`, { cause: err }))
      server.once('error', onError)
      server.listen(listen.port, listen.host, () => {
        server.off('error', onError)
        resolve()
      })
    })
    server.on('error', (err) => log.error({ err }, 'probes: server error'))
    const addr = server.address() as AddressInfo
    this.server = server
    this.bound = { host: addr.address, port: addr.port }
    log.info({ address: `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`, paths: [...this.routes.keys()] }, 'probe listener listening')
  }

  stop(): Promise<void> {
    const server = this.server
    if (!server) return Promise.resolve()
    this.stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    return this.stopping
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url)
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('connection', 'close')
        throw new AdminMethodNotAllowedError(req.method ?? '', ALLOWED)
      }
      const route = this.routes.get(path)
      if (route === undefined) throw new AdminNotFoundError(`no probe path ${path} (only ${[...this.routes.keys()].join(', ')})`)
      await route.handle({ req, res, url: new URL(path, 'http://probes.invalid'), params: [] })
    } catch (err) {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (isCommyError(err)) return sendError(res, err)
      this.options.log.error({ err, path }, 'probes: handler failed')
      sendError(res, new InternalError(`${path} failed`, { cause: err }))
    }
  }
}

/** The path of a request target, without the query ('/' when unreadable). */
function pathOf(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://probes.invalid').pathname
  } catch {
    return '/'
  }
}
