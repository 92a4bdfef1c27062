/**
 * The admin paths: one entry per (method, path) with its access class and handler.
 * Handlers only read the AdminSource and call the AdminActions; security is applied by the
 * server before a handler runs (see security.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseDuration } from '../config/duration.js'
import type { Clock } from '../clock.js'
import type { Access } from './security.js'
import type { AdminActions, AdminSource, EndpointView } from './view.js'
import type { Metrics } from './metrics.js'
import type { EventStream } from './events.js'
import type { StateSnapshot } from './snapshot.js'
import type { Asset } from './dashboard/assets.js'
import { AdminBadRequestError, AdminBusyError, AdminNotFoundError, AdminReloadRefusedError, AdminUnavailableError, NotReadyError } from './errors.js'
import { sendBody, sendError, sendJson } from './responses.js'
import type { AdminActionRecorder } from './maintenance-log.js'

export interface RouteContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly url: URL
  /** Captured path segments (decoded). */
  readonly params: readonly string[]
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'PUT'
  /** Exact path, or a pattern whose groups become `params`. */
  readonly path: string | RegExp
  readonly access: Access
  handle(ctx: RouteContext): void | Promise<void>
}

export interface RouteDeps {
  readonly source: AdminSource
  readonly actions: AdminActions
  readonly metrics: Metrics
  readonly events: EventStream
  readonly snapshot: () => StateSnapshot
  readonly assets: ReadonlyMap<string, Asset>
  readonly clock: Clock
  readonly onDrainError?: (err: unknown) => void
  /** Logs, counts and publishes the runtime controls (maintenance-log.ts). */
  readonly record: AdminActionRecorder
}

/** What the platform's paths read. */
export interface PlatformRouteDeps {
  readonly source: Pick<AdminSource, 'readiness'>
  readonly metrics: Pick<Metrics, 'text' | 'contentType'>
}

/**
 * The paths the platform calls — liveness, readiness, Prometheus — served by the admin server and,
 * read-only and without a token, by the probe listener (probe-server.ts). GET only.
 */
export function platformRoutes({ source, metrics }: PlatformRouteDeps): AdminRoute[] {
  return [
    { method: 'GET', path: '/healthz', access: 'probe', handle: ({ res }) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      access: 'probe',
      handle: ({ res }) => {
        const r = source.readiness()
        if (r.ready) return sendJson(res, 200, { ready: true })
        sendError(res, new NotReadyError(r.reason ?? 'unknown'), { ready: false, reason: r.reason ?? 'unknown' })
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      access: 'read',
      handle: async ({ res }) => sendBody(res, 200, await metrics.text(), metrics.contentType, { 'cache-control': 'no-store' }),
    },
  ]
}

export function adminRoutes(deps: RouteDeps): AdminRoute[] {
  const { source, actions, metrics, events, clock } = deps
  let reloading = false
  let draining: Promise<void> | undefined

  const routes: AdminRoute[] = [
    ...platformRoutes({ source, metrics }),
    { method: 'GET', path: '/v1/node', access: 'read', handle: ({ res }) => sendJson(res, 200, source.node()) },
    { method: 'GET', path: '/v1/members', access: 'read', handle: ({ res }) => sendJson(res, 200, { members: source.members() }) },
    { method: 'GET', path: '/v1/services', access: 'read', handle: ({ res }) => sendJson(res, 200, { services: source.services() }) },
    { method: 'GET', path: '/v1/routes', access: 'read', handle: ({ res }) => sendJson(res, 200, source.routes?.() ?? { listeners: [] }) },
    {
      method: 'GET',
      path: '/v1/endpoints',
      access: 'read',
      handle: ({ res, url }) => sendJson(res, 200, { endpoints: filterEndpoints(source.endpoints(), url.searchParams) }),
    },
    {
      method: 'GET',
      path: /^\/v1\/endpoints\/([^/]+)\/history$/,
      access: 'read',
      handle: ({ res, url, params }) => {
        const id = params[0]!
        const since = parseSince(url.searchParams.get('since'), clock.wallNow())
        const h = source.endpointHistory(id, since)
        if (!h) throw new AdminNotFoundError(`no endpoint with id "${id}"`)
        sendJson(res, 200, h)
      },
    },
    { method: 'GET', path: '/v1/alerts', access: 'read', handle: ({ res }) => sendJson(res, 200, { alerts: source.alerts() }) },
    { method: 'GET', path: '/v1/config', access: 'read', handle: ({ res }) => sendJson(res, 200, source.config()) },
    { method: 'GET', path: '/v1/state', access: 'read', handle: ({ res }) => sendJson(res, 200, deps.snapshot()) },
    {
      method: 'GET',
      path: '/v1/events',
      access: 'read',
      handle: ({ req, res }) => {
        if (req.method === 'HEAD') return sendBody(res, 200, '', 'text/event-stream; charset=utf-8')
        if (!events.add(req, res)) throw new AdminUnavailableError('too many event streams open')
      },
    },
    {
      method: 'POST',
      path: '/v1/reload',
      access: 'write',
      handle: async ({ res }) => {
        if (reloading) throw new AdminBusyError('a reload is already running')
        reloading = true
        try {
          const r = await actions.reload()
          if (!r.ok) return sendError(res, new AdminReloadRefusedError(r.error ?? 'config refused'), { ok: false })
          sendJson(res, 200, { ok: true, version: r.version ?? source.node().configVersion })
        } finally {
          reloading = false
        }
      },
    },
    {
      method: 'POST',
      path: '/v1/drain',
      access: 'write',
      handle: async ({ req, res, url }) => {
        if (!draining) {
          deps.record.drain(req, 'drain')
          draining = actions.drain()
          draining.catch((err) => deps.onDrainError?.(err))
        }
        const wait = url.searchParams.get('wait')
        if (wait === '1' || wait === 'true') {
          await draining
          return sendJson(res, 200, { draining: true, drained: true })
        }
        sendJson(res, 202, { draining: true })
      },
    },
    {
      method: 'POST',
      path: '/v1/undrain',
      access: 'write',
      handle: async ({ req, res }) => {
        const changed = await actions.undrain()
        draining = undefined
        if (changed) deps.record.drain(req, 'undrain')
        sendJson(res, 200, { draining: false, changed })
      },
    },
  ]
  for (const [path, asset] of deps.assets) {
    routes.push({ method: 'GET', path, access: 'read', handle: ({ req, res }) => sendAsset(req, res, asset) })
  }
  return routes
}

async function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): Promise<void> {
  const { body, etag } = await asset.content()
  const headers = { etag, 'cache-control': 'no-cache', ...asset.headers }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers)
    res.end()
    return
  }
  sendBody(res, 200, body, asset.type, headers)
}

function filterEndpoints(all: readonly EndpointView[], q: URLSearchParams): readonly EndpointView[] {
  const service = q.get('service')
  const state = q.get('state')
  if (service === null && state === null) return all
  return all.filter((ep) => (service === null || ep.service === service) && (state === null || ep.state === state))
}

/** `since` as epoch ms, or a duration back from now (`15m`). */
export function parseSince(value: string | null, now: number): number | undefined {
  if (value === null || value === '') return undefined
  if (/^\d+$/.test(value)) return Number(value)
  const d = parseDuration(value)
  if (d === undefined) throw new AdminBadRequestError(`since must be epoch milliseconds or a duration such as 15m, not "${value}"`)
  return now - d
}
