/**
 * The one rule for gRPC routes and a service's protocol: a route that can tell its requests are
 * gRPC must go to a service spoken to over HTTP/2 (gRPC needs HTTP/2 trailers and streams). The
 * route tells by `match.headers` content-type `application/grpc` (or `application/grpc+proto`,
 * ...). Other route facts that say gRPC (e.g. a `match.grpc` block) join `routeIsGrpc` here.
 * At run time a gRPC request that reaches an `http1` service anyway gets a clear 502
 * (transport/grpc-guard.ts).
 */

/** A route's match as far as this rule reads it (header names lower-cased or not). */
export interface RouteMatchFacts {
  readonly headers?: Readonly<Record<string, string>>
}

/** True when the route only matches gRPC requests. */
export function routeIsGrpc(match: RouteMatchFacts): boolean {
  const h = match.headers
  if (h === undefined) return false
  for (const name in h) if (name.toLowerCase() === 'content-type' && isGrpcContentType(h[name]!)) return true
  return false
}

/** `application/grpc`, `application/grpc+proto`, `application/grpc; ...` (any case). */
export function isGrpcContentType(v: string): boolean {
  const s = v.trimStart().toLowerCase()
  return s.startsWith('application/grpc') && (s.length === 16 || s[16] === '+' || s[16] === ';' || s[16] === ' ')
}

/** The config issue for a gRPC route to a service of `protocol`, or undefined. */
export function grpcRouteIssue(match: RouteMatchFacts, service: string, protocol: 'http1' | 'http2' | undefined): string | undefined {
  if ((protocol ?? 'http1') === 'http2' || !routeIsGrpc(match)) return undefined
  return `this route matches gRPC requests, and service "${service}" is spoken to over HTTP/1.1: set services.${service}.protocol: http2`
}
