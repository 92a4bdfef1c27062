/**
 * The one rule for gRPC routes and a service's protocol: a route that can tell its requests are
 * gRPC must go to a service spoken to over HTTP/2 (gRPC needs HTTP/2 trailers and streams). The
 * route tells by `match.grpc`, or `match.headers` content-type `application/grpc` (or
 * `application/grpc+proto`, ...).
 * At run time a gRPC request that reaches an `http1` service anyway gets a clear 502
 * (transport/undici.ts: GrpcOverHttp1Error for a request the forwarder marked `grpc`).
 */

/** A route's match as far as this rule reads it (header names lower-cased or not). */
export interface RouteMatchFacts {
  readonly headers?: Readonly<Record<string, string>>
  /** `match.grpc`: gRPC calls only. */
  readonly grpc?: object
}

/** True when the route only matches gRPC requests. */
export function routeIsGrpc(match: RouteMatchFacts): boolean {
  if (match.grpc !== undefined) return true
  const h = match.headers
  if (h === undefined) return false
  for (const name in h) if (name.toLowerCase() === 'content-type' && isGrpcContentType(h[name]!)) return true
  return false
}

const GRPC_TYPE = 'application/grpc'

/**
 * A request with this Content-Type is a gRPC call: `application/grpc`, `application/grpc+proto`,
 * `application/grpc;…` (any case). gRPC-Web (`application/grpc-web*`) is not: its errors and
 * trailers travel in the body, and commy forwards it as plain HTTP.
 */
export function isGrpcContentType(value: string): boolean {
  if (value.length < GRPC_TYPE.length) return false
  // most content types differ at "application/" + one letter: decided without a copy
  const g = value.charCodeAt(12)
  if (g !== 103 /* g */ && g !== 71 /* G */) return false
  const v = value.startsWith(GRPC_TYPE) ? value : value.toLowerCase()
  if (!v.startsWith(GRPC_TYPE)) return false
  if (v.length === GRPC_TYPE.length) return true
  const next = v.charCodeAt(GRPC_TYPE.length)
  return next === 43 /* + */ || next === 59 /* ; */ || next === 32 /* space before ; */
}

/** The config issue for a gRPC route to a service of `protocol`, or undefined. */
export function grpcRouteIssue(match: RouteMatchFacts, service: string, protocol: 'http1' | 'http2' | undefined): string | undefined {
  if ((protocol ?? 'http1') === 'http2' || !routeIsGrpc(match)) return undefined
  return `this route matches gRPC requests, and service "${service}" is spoken to over HTTP/1.1: set services.${service}.protocol: http2`
}
