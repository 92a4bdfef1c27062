/**
 * The route table of one listener: routes in order, the first match wins. A route matches on the
 * Host header without port (exact, or `*.example.com` for any sub-domain), a path prefix, and
 * exact header values; `match.grpc` is gRPC calls (content-type) to a service's path
 * (`/payments.v1.Ledger/` or `/payments.v1.Ledger/Post`); a route without conditions matches everything.
 */
import type { RouteMatchConfig } from '../config/types.js'
import { hostWithoutPort, rawHeader } from './headers.js'
import { isGrpcContentType } from '../config/grpc-routes.js'

/** What matching reads from a request. */
export interface RouteQuery {
  /** Host from an absolute-form request target; otherwise the Host header is read from rawHeaders. */
  readonly host: string | undefined
  /** Path (query included or not: only the prefix is compared). */
  readonly path: string
  /** Flat raw header list, for header conditions. */
  readonly rawHeaders: readonly string[]
}

interface CompiledRoute<T> {
  readonly exactHost: string | undefined
  /** `.example.com` for `*.example.com`. */
  readonly hostSuffix: string | undefined
  readonly pathPrefix: string | undefined
  readonly headers: readonly (readonly [string, string])[]
  /** match.grpc: only gRPC calls; `/service/method` exactly when a method is named (else pathPrefix `/service/`). */
  readonly grpcOnly: boolean
  readonly exactPath: string | undefined
  readonly target: T
}

export class RouteTable<T> {
  private readonly routes: CompiledRoute<T>[]
  private readonly usesHost: boolean

  constructor(entries: readonly { readonly match: RouteMatchConfig; readonly target: T }[]) {
    this.routes = entries.map(({ match, target }) => {
      const h = match.host
      const wildcard = h !== undefined && h.startsWith('*.')
      return {
        exactHost: h !== undefined && !wildcard ? h : undefined,
        hostSuffix: wildcard ? h.slice(1) : undefined,
        pathPrefix: match.grpc !== undefined && match.grpc.method === undefined ? `/${match.grpc.service}/` : match.pathPrefix,
        headers: match.headers,
        grpcOnly: match.grpc !== undefined,
        exactPath: match.grpc?.method !== undefined ? `/${match.grpc.service}/${match.grpc.method}` : undefined,
        target,
      }
    })
    this.usesHost = this.routes.some((r) => r.exactHost !== undefined || r.hostSuffix !== undefined)
  }

  get size(): number {
    return this.routes.length
  }

  /** The first matching route's target, or undefined. */
  match(q: RouteQuery): T | undefined {
    const host = this.usesHost ? hostWithoutPort(q.host ?? rawHeader(q.rawHeaders, 'host')) : ''
    const routes = this.routes
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!
      if (r.exactHost !== undefined && r.exactHost !== host) continue
      if (r.hostSuffix !== undefined && !(host.length > r.hostSuffix.length && host.endsWith(r.hostSuffix))) continue
      if (r.pathPrefix !== undefined && !q.path.startsWith(r.pathPrefix)) continue
      if (r.exactPath !== undefined && !isPath(q.path, r.exactPath)) continue
      if (r.headers.length > 0 && !headersMatch(r.headers, q.rawHeaders)) continue
      if (r.grpcOnly && !isGrpcCall(q.rawHeaders)) continue
      return r.target
    }
    return undefined
  }
}

/** `path` is `exact`, with or without a query. */
function isPath(path: string, exact: string): boolean {
  return path.startsWith(exact) && (path.length === exact.length || path.charCodeAt(exact.length) === 63 /* ? */)
}

function isGrpcCall(raw: readonly string[]): boolean {
  const type = rawHeader(raw, 'content-type')
  return type !== undefined && isGrpcContentType(type)
}

function headersMatch(wanted: readonly (readonly [string, string])[], raw: readonly string[]): boolean {
  for (const [name, value] of wanted) if (rawHeader(raw, name) !== value) return false
  return true
}
