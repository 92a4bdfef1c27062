/**
 * Building blocks for gossip mesh tests: the sidecar.yaml of one mesh node (gossip on
 * 127.0.0.1:0, `local` profile, listeners and admin on port 0) and the app beside a node — an
 * echo server on 127.0.0.1:0 whose health check can be made to fail and which can be frozen
 * (requests held unanswered, as if its node were stopped).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface LocalServiceSpec {
  readonly name: string
  readonly address: string
  readonly tags?: readonly string[]
  /** Checked by this node only; the verdict is gossiped. */
  readonly healthCheck?: Record<string, unknown>
}

export interface MeshNodeOptions {
  readonly name: string
  readonly zone?: string
  readonly seeds?: readonly string[]
  /** Gossip key (base64); none = plaintext. */
  readonly key?: string
  readonly local?: readonly LocalServiceSpec[]
  /** `services` of sidecar.yaml (default: `echo` and `solo`, round robin, no static endpoints). */
  readonly services?: Record<string, unknown>
  /** Routes of the `outbound` listener (default: `/solo` -> solo, `/` -> echo). */
  readonly routes?: readonly unknown[]
  /** Gossip settings on top of the defaults. */
  readonly gossip?: Record<string, unknown>
  /** Top-level sections on top of the rest (log, limits ...). */
  readonly extra?: Record<string, unknown>
}

/** A quick local health check for the services a node offers. */
export const FAST_CHECK = { http: { path: '/health' }, interval: '100ms', timeout: '200ms', unhealthyThreshold: 1, healthyThreshold: 1 }

const DEFAULT_SERVICES = { echo: { strategy: 'round-robin' }, solo: { strategy: 'round-robin' } }
const DEFAULT_ROUTES = [
  { name: 'solo', match: { pathPrefix: '/solo' }, service: 'solo' },
  { name: 'echo', match: { pathPrefix: '/' }, service: 'echo' },
]

/** One mesh node's sidecar.yaml, as an object (JSON is YAML). */
export function meshConfig(o: MeshNodeOptions): Record<string, unknown> {
  return {
    node: { name: o.name, ...(o.zone !== undefined ? { zone: o.zone } : {}) },
    admin: { listen: '127.0.0.1:0' },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: o.routes ?? DEFAULT_ROUTES }],
    services: o.services ?? DEFAULT_SERVICES,
    gossip: {
      listen: '127.0.0.1:0',
      seeds: [...(o.seeds ?? [])],
      ...(o.key !== undefined ? { key: o.key } : {}),
      cluster: 'mesh-test',
      profile: 'local',
      ...o.gossip,
    },
    local: { services: (o.local ?? []).map((s) => ({ name: s.name, address: s.address, ...(s.tags ? { tags: s.tags } : {}), ...(s.healthCheck ? { healthCheck: s.healthCheck } : {}) })) },
    ...o.extra,
  }
}

export interface MeshApp {
  readonly name: string
  readonly port: number
  /** `127.0.0.1:port` */
  readonly address: string
  /** Requests answered (health checks not counted). */
  readonly served: number
  /** /health answers 200 when true, 500 when false. */
  healthy: boolean
  /** Every other request answers with this status (default 200). */
  status: number
  /** Open client connections (e.g. a sidecar's pooled keep-alive sockets). */
  connections(): Promise<number>
  /** Holds requests unanswered (health checks too) until thaw(). */
  freeze(): void
  thaw(): void
  close(): Promise<void>
}

/**
 * An app on 127.0.0.1:0 answering `{"app": name, "path": ...}` with `x-app: name`, and `/health`.
 */
export async function startApp(name: string): Promise<MeshApp> {
  let served = 0
  let frozen = false
  const held: (() => void)[] = []
  const server = http.createServer((req, res) => {
    const answer = () => {
      if (res.destroyed) return
      if (req.url === '/health') {
        res.writeHead(app.healthy ? 200 : 500, { 'content-type': 'text/plain' }).end(app.healthy ? 'ok' : 'failing')
        return
      }
      served++
      const body = JSON.stringify({ app: name, path: req.url })
      res.writeHead(app.status, { 'content-type': 'application/json', 'x-app': name }).end(body)
    }
    req.resume()
    req.on('end', () => (frozen ? held.push(answer) : answer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const app: MeshApp = {
    name,
    port,
    address: `127.0.0.1:${port}`,
    get served() {
      return served
    },
    healthy: true,
    status: 200,
    connections: () => new Promise((resolve) => server.getConnections((_err, n) => resolve(n ?? 0))),
    freeze: () => void (frozen = true),
    thaw: () => {
      frozen = false
      for (const a of held.splice(0)) a()
    },
    close: () =>
      new Promise<void>((resolve) => {
        frozen = false
        held.length = 0
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  return app
}

/** Polls `cond` (sync or async) every `everyMs` until it holds; returns the elapsed ms, throws after `ms`. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 20): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await cond()) return Date.now() - start
    if (Date.now() - start > ms) throw new Error(`${what}: not reached within ${ms} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
