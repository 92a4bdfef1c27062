/**
 * undici (and node:net) errors -> commy's typed errors. Decisions use `code` only, never the
 * message; the original error is kept as `cause`. An error without a code is not from undici or
 * the socket (a TypeError in a layer, a bug): it becomes an InternalError, not an upstream failure.
 */
import {
  BadRequestError,
  ClientAbortedError,
  CommyError,
  DESCRIPTOR_CODES,
  InternalError,
  LocalResourcesError,
  UpstreamConnectError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../errors.js'

/** What the exchange knew when the error arrived. */
export interface ErrorContext {
  /** `host:port` of the endpoint. */
  readonly endpoint: string
  /** undici handed the request to a connection (it may have written it). */
  readonly connected: boolean
  /** At least one byte of the response was parsed. */
  readonly responseStarted: boolean
  /** Bytes of the request body written. */
  readonly bodyBytesSent: number
  /** The try's time-to-headers limit, for the message. */
  readonly timeoutMs: number
}

/** Socket-level errno codes that, before the request reached a connection, mean "could not connect". */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ECONNRESET',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
])

const RESET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT'])

const PROTOCOL_CODES = new Set([
  'UND_ERR_HTTP_PARSER',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_INFO',
])

interface ErrorLike {
  code?: unknown
  socket?: { bytesRead?: number }
}

export function fromUndiciError(err: unknown, ctx: ErrorContext): CommyError {
  if (err instanceof CommyError) return err // our own abort reason (client gone, route timeout)
  const e = (err ?? {}) as ErrorLike
  if (typeof e.code !== 'string') return new InternalError('internal error', { cause: err })
  const code = e.code
  if (DESCRIPTOR_CODES.has(code)) return new LocalResourcesError(ctx.endpoint, { cause: err })
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UpstreamTimeoutError(ctx.endpoint, ctx.timeoutMs, { cause: err })
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamConnectError(ctx.endpoint, { cause: err })
  if (!ctx.connected) {
    // never handed to a connection: nothing was written
    if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') return new UpstreamResetError(ctx.endpoint, true, { cause: err })
    if (CONNECT_CODES.has(code)) return new UpstreamConnectError(ctx.endpoint, { cause: err })
  }
  if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_ABORT') return new ClientAbortedError()
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
    return new BadRequestError('request cannot be forwarded (invalid header or body length)')
  }
  if (PROTOCOL_CODES.has(code) || code.startsWith('HPE_')) return new UpstreamProtocolError(ctx.endpoint, { cause: err })
  if (RESET_CODES.has(code) || code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
    return new UpstreamResetError(ctx.endpoint, isKeepAliveRace(e, code, ctx), { cause: err })
  }
  return new UpstreamResetError(ctx.endpoint, !ctx.connected, { cause: err })
}

/**
 * The keep-alive race: the endpoint closed an idle kept-alive connection just as a request was
 * written on it. Seen as: a reused connection (it had read earlier responses) closed before any
 * byte of this response, with no request body byte sent. Go's net/http makes the same call.
 * A request that was never handed to a connection is trivially "before write".
 */
function isKeepAliveRace(e: ErrorLike, code: string, ctx: ErrorContext): boolean {
  if (!ctx.connected) return true
  if (ctx.responseStarted || ctx.bodyBytesSent > 0) return false
  if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET' && code !== 'EPIPE') return false
  const read = e.socket?.bytesRead
  return typeof read === 'number' && read > 0
}
