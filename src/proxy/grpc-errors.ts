/**
 * Errors commy itself answers a gRPC call with are gRPC errors: a trailers-only response (HTTP
 * 200, `content-type: application/grpc`, `grpc-status`, `grpc-message`, and on HTTP/2 a single
 * HEADERS frame that ends the stream), so a gRPC client sees UNAVAILABLE rather than an INTERNAL
 * "bad content-type" (a JSON 503 reads as status 13 to grpc-js). `GRPC_ERROR_STATUS` is the one
 * mapping from the error table (errors.ts) to gRPC codes; it follows gRPC's own HTTP-to-gRPC table
 * (503/502/504 -> UNAVAILABLE) except where commy knows better (a timeout is DEADLINE_EXCEEDED,
 * the concurrency limit RESOURCE_EXHAUSTED, as Envoy and Linkerd answer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CommyError, ErrorCode } from '../errors.js'
import { GrpcStatus, type GrpcStatusCode } from '../pipeline/grpc-status.js'
import { isGrpcContentType } from '../config/grpc-routes.js'
import { percentEncodeGrpcMessage } from './grpc.js'

/** gRPC status of every data-plane error code (codes not listed answer UNKNOWN). */
export const GRPC_ERROR_STATUS: Readonly<Partial<Record<ErrorCode, GrpcStatusCode>>> = Object.freeze({
  COMMY_ERR_NO_ROUTE: GrpcStatus.UNIMPLEMENTED,
  COMMY_ERR_NO_HEALTHY_ENDPOINT: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_UPSTREAM_CONNECT: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_UPSTREAM_RESET: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_UPSTREAM_PROTOCOL: GrpcStatus.INTERNAL,
  COMMY_ERR_UPSTREAM_IDENTITY: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_UPSTREAM_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  COMMY_ERR_UPSTREAM_GRPC_STATUS: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_BREAKER_OPEN: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_OVERLOADED: GrpcStatus.RESOURCE_EXHAUSTED,
  COMMY_ERR_LOCAL_RESOURCES: GrpcStatus.RESOURCE_EXHAUSTED,
  COMMY_ERR_RETRY_BUDGET: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_BAD_REQUEST: GrpcStatus.INTERNAL,
  COMMY_ERR_METHOD_NOT_ALLOWED: GrpcStatus.UNIMPLEMENTED,
  COMMY_ERR_REQUEST_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  COMMY_ERR_HEADERS_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  COMMY_ERR_URI_TOO_LONG: GrpcStatus.RESOURCE_EXHAUSTED,
  COMMY_ERR_TRANSFER_ENCODING: GrpcStatus.UNIMPLEMENTED,
  COMMY_ERR_HTTP_VERSION: GrpcStatus.UNIMPLEMENTED,
  COMMY_ERR_UPGRADE_UNSUPPORTED: GrpcStatus.UNIMPLEMENTED,
  COMMY_ERR_DRAINING: GrpcStatus.UNAVAILABLE,
  COMMY_ERR_CLIENT_ABORTED: GrpcStatus.CANCELLED,
  COMMY_ERR_INTERNAL: GrpcStatus.INTERNAL,
  COMMY_ERR_FORBIDDEN: GrpcStatus.PERMISSION_DENIED,
  COMMY_ERR_GRPC_OVER_HTTP1: GrpcStatus.UNIMPLEMENTED,
})

/** The gRPC status commy answers `err` with. */
export function grpcStatusFor(err: CommyError): GrpcStatusCode {
  return GRPC_ERROR_STATUS[err.code] ?? GrpcStatus.UNKNOWN
}

/** `grpc-message` of an error answer: code, message and request id, percent-encoded. */
export function grpcErrorMessage(err: CommyError, requestId: string, service: string | undefined): string {
  const message = service !== undefined && err.service !== service ? `service "${service}": ${err.message}` : err.message
  return percentEncodeGrpcMessage(`${err.code}: ${message} (request id ${requestId})`)
}

/** The request of this response is a gRPC call (read only on error answers: costs nothing on the way through). */
export function isGrpcResponse(res: ServerResponse): boolean {
  const req = (res as { req?: IncomingMessage }).req
  const type = req?.headers['content-type']
  return type !== undefined && isGrpcContentType(type)
}

/**
 * Ends a gRPC call whose response already started (a deadline mid-stream, the endpoint gone) with
 * `err`'s status in trailers, as a gRPC server would, rather than a reset stream (which the
 * client reads as INTERNAL or CANCELLED). HTTP/2 clients only (HTTP/1.1 has no reliable trailers
 * here); returns false when it could not, and the caller cuts the stream.
 */
export function endGrpcStream(res: ServerResponse, err: CommyError, requestId: string, service: string | undefined): boolean {
  if (!('stream' in res) || res.writableEnded || res.destroyed) return false
  try {
    res.addTrailers({ 'grpc-status': String(grpcStatusFor(err)), 'grpc-message': grpcErrorMessage(err, requestId, service) })
    res.end()
    return true
  } catch {
    return false
  }
}

/**
 * Answers a gRPC call with `err` as a trailers-only response. Headers are set and `end()` is
 * called without `writeHead`, so Node's HTTP/2 compatibility layer sends one HEADERS frame with
 * END_STREAM (what a gRPC client reads as trailers-only); on HTTP/1.1 it is a 200 with no body.
 */
export function sendGrpcError(res: ServerResponse, err: CommyError, requestId: string, service: string | undefined, keepAlive: boolean): void {
  if (!keepAlive) res.shouldKeepAlive = false
  res.statusCode = 200
  res.setHeader('content-type', 'application/grpc')
  res.setHeader('grpc-status', String(grpcStatusFor(err)))
  res.setHeader('grpc-message', grpcErrorMessage(err, requestId, service))
  res.setHeader('x-request-id', requestId)
  res.end()
}
