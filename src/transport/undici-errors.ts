/**
 * undici (and node:net) errors -> commy's typed errors. Decisions use `code` (or undici's error
 * class) only, never the message; the original error is kept as `cause`. An error without a code
 * that is not undici's is not from undici or the socket (a TypeError in a layer, a bug): it
 * becomes an InternalError, not an upstream failure.
 *
 * An answer that is not valid HTTP is UPSTREAM_PROTOCOL: undici's HTTPParserError (llhttp's
 * verdict; its `code` is undefined in undici 7), a body not matching its length, and an answer
 * undici refused before its header section completed (a socket error after the response started
 * but before its headers: an unsolicited 100 or 101, a header section cut short). undici destroys
 * the connection in each case, so it is never reused.
 */
import { errors as undiciErrors } from 'undici'
import {
  BadRequestError,
  ClientAbortedError,
  CommyError,
  DESCRIPTOR_CODES,
  InternalError,
  LocalResourcesError,
  type ResetStage,
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
  /** The response's header section was complete (a final status arrived). */
  readonly headersReceived: boolean
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
  if (err instanceof undiciErrors.HTTPParserError) return new UpstreamProtocolError(ctx.endpoint, { cause: err })
  const e = (err ?? {}) as ErrorLike
  if (typeof e.code !== 'string') return new InternalError('internal error', { cause: err })
  const code = e.code
  if (DESCRIPTOR_CODES.has(code)) return new LocalResourcesError(ctx.endpoint, { cause: err })
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    // undici's only timer is the try's time-to-headers (transport/undici.ts disables the rest)
    return new UpstreamTimeoutError(ctx.endpoint, ctx.timeoutMs, { cause: err, setting: 'retries.perTryTimeout' })
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamConnectError(ctx.endpoint, { cause: err })
  if (!ctx.connected) {
    // never handed to a connection: nothing was written
    if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') return new UpstreamResetError(ctx.endpoint, 'unwritten', { cause: err })
    if (CONNECT_CODES.has(code)) return new UpstreamConnectError(ctx.endpoint, { cause: err })
  }
  if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_ABORT') return new ClientAbortedError()
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
    return new BadRequestError('request cannot be forwarded (invalid header or body length)')
  }
  if (PROTOCOL_CODES.has(code) || code.startsWith('HPE_')) return new UpstreamProtocolError(ctx.endpoint, { cause: err })
  if (code === 'UND_ERR_SOCKET' && ctx.responseStarted && !ctx.headersReceived) return new UpstreamProtocolError(ctx.endpoint, { cause: err })
  if (RESET_CODES.has(code) || code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
    return new UpstreamResetError(ctx.endpoint, resetStage(e, code, ctx), { cause: err })
  }
  return new UpstreamResetError(ctx.endpoint, ctx.connected ? 'written' : 'unwritten', { cause: err })
}

/**
 * How far the request got (see ResetStage). Never handed to a connection: `unwritten`. The
 * keep-alive race, `idle-race`: a reused connection (it had read earlier responses) closed before
 * any byte of this response, with no request body byte sent; its headers may have reached the
 * endpoint, so only requests that are safe to repeat are tried again (pipeline/retry-rules.ts), as
 * Go's net/http does. Anything else: `written`.
 */
function resetStage(e: ErrorLike, code: string, ctx: ErrorContext): ResetStage {
  if (!ctx.connected) return 'unwritten'
  if (ctx.responseStarted || ctx.bodyBytesSent > 0) return 'written'
  if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET' && code !== 'EPIPE') return 'written'
  const read = e.socket?.bytesRead
  return typeof read === 'number' && read > 0 ? 'idle-race' : 'written'
}
