/**
 * Typed errors. `ERRORS` is the one table of every code commy has, with the HTTP status it
 * answers with and what it means (README's error table is checked against it by
 * test/errors.test.ts). Each condition has one class; the constructor names the code and the
 * status comes from the table. Foreign errors (undici, opossum, node:net) are converted where
 * they are caught, kept as `cause`; one that is not understood is an `InternalError`.
 */

export interface ErrorRow {
  /** HTTP status of the answer (500 for codes that never reach an HTTP client). */
  readonly status: number
  /** One line: when the code is used. */
  readonly meaning: string
}

/** Every `COMMY_ERR_*` code. Add a row here (and to README.md) before using a new code. */
export const ERRORS = freezeTable({
  // ---- data plane: answers to the application's requests ----
  COMMY_ERR_NO_ROUTE: { status: 404, meaning: 'no route of the listener matches the request' },
  COMMY_ERR_NO_HEALTHY_ENDPOINT: { status: 503, meaning: 'the service has no endpoint that may take traffic' },
  COMMY_ERR_UPSTREAM_CONNECT: { status: 502, meaning: 'connecting to the endpoint failed (refused, unreachable, connect timeout)' },
  COMMY_ERR_UPSTREAM_RESET: { status: 502, meaning: 'the endpoint closed or reset the connection mid-exchange' },
  COMMY_ERR_UPSTREAM_PROTOCOL: { status: 502, meaning: "the endpoint's answer was not valid HTTP" },
  COMMY_ERR_UPSTREAM_IDENTITY: { status: 502, meaning: "the mesh endpoint's certificate is not the service's identity (found in the TLS handshake, before any byte of the request)" },
  COMMY_ERR_UPSTREAM_TIMEOUT: { status: 504, meaning: "the route's `timeout` or `retries.perTryTimeout` elapsed" },
  COMMY_ERR_BREAKER_OPEN: { status: 503, meaning: "the endpoint's circuit breaker is open" },
  COMMY_ERR_OVERLOADED: { status: 503, meaning: "the service's concurrency limit is full" },
  COMMY_ERR_LOCAL_RESOURCES: { status: 503, meaning: 'commy itself ran out of file descriptors (EMFILE/ENFILE) connecting upstream; not the endpoint\'s fault' },
  COMMY_ERR_RETRY_BUDGET: { status: 503, meaning: "the service's retry budget is spent" },
  COMMY_ERR_BAD_REQUEST: { status: 400, meaning: 'the request cannot be forwarded (malformed, body not matching its length …)' },
  COMMY_ERR_METHOD_NOT_ALLOWED: { status: 405, meaning: 'CONNECT: commy is not a tunnelling proxy' },
  COMMY_ERR_REQUEST_TIMEOUT: { status: 408, meaning: 'the client did not send its request headers or body in time (`limits`)' },
  COMMY_ERR_HEADERS_TOO_LARGE: { status: 431, meaning: 'the request headers are larger than `limits.maxHeaderSize` or more than `limits.maxHeaderCount`' },
  COMMY_ERR_URI_TOO_LONG: { status: 414, meaning: 'the request-target is longer than `limits.maxUriLength`' },
  COMMY_ERR_TRANSFER_ENCODING: { status: 501, meaning: 'a request Transfer-Encoding other than `chunked` (never forwarded, never re-coded)' },
  COMMY_ERR_HTTP_VERSION: { status: 505, meaning: 'a request line with an HTTP major version other than 1' },
  COMMY_ERR_UPGRADE_UNSUPPORTED: { status: 501, meaning: 'an Upgrade request on a listener that does not forward upgrades, or to an endpoint reached over TLS (not forwarded over TLS yet, never in plaintext)' },
  COMMY_ERR_DRAINING: { status: 503, meaning: 'the sidecar is shutting down' },
  COMMY_ERR_CLIENT_ABORTED: { status: 499, meaning: 'the client left before the answer (access log only)' },
  COMMY_ERR_INTERNAL: { status: 500, meaning: 'a bug in commy or a plugin (an unexpected error, logged with its stack)' },
  COMMY_ERR_GRPC_OVER_HTTP1: { status: 502, meaning: 'a gRPC request to a service spoken to over HTTP/1.1 (set `services.<name>.protocol: http2`)' },
  COMMY_ERR_FORBIDDEN: { status: 403, meaning: "inbound (mTLS): the caller's mesh identity is not in the local service's `allow` list" },
  COMMY_ERR_UPSTREAM_GRPC_STATUS: { status: 502, meaning: "a gRPC endpoint ended a call at once with a non-OK `grpc-status` (trailers-only answer); the endpoint's answer is what the client gets (try records and logs only)" },

  // ---- admin server ----
  COMMY_ERR_ADMIN_NOT_FOUND: { status: 404, meaning: 'no such admin path, or no endpoint with that id' },
  COMMY_ERR_ADMIN_METHOD_NOT_ALLOWED: { status: 405, meaning: 'the admin path exists, but not for this method (an `Allow` header is sent)' },
  COMMY_ERR_ADMIN_UNAUTHORIZED: { status: 401, meaning: 'the admin token is missing or wrong' },
  COMMY_ERR_ADMIN_FORBIDDEN: { status: 403, meaning: 'the Host or Origin header was refused (DNS rebinding, cross-site request)' },
  COMMY_ERR_ADMIN_BAD_REQUEST: { status: 400, meaning: 'an admin query parameter or request body could not be read' },
  COMMY_ERR_ADMIN_BUSY: { status: 409, meaning: 'a reload is already running' },
  COMMY_ERR_ADMIN_RELOAD_REFUSED: { status: 422, meaning: 'the new config is invalid; the old one keeps serving' },
  COMMY_ERR_ADMIN_UNAVAILABLE: { status: 503, meaning: 'too many admin event streams are open' },
  COMMY_ERR_NOT_READY: { status: 503, meaning: '`/readyz` while the sidecar is not ready' },
  COMMY_ERR_ADMIN_INSECURE_BIND: { status: 500, meaning: 'start refused: non-loopback admin `listen` and no token (not sent over HTTP)' },
  COMMY_ERR_ADMIN_LISTEN: { status: 500, meaning: 'the admin server could not bind its address (not sent over HTTP)' },
  COMMY_ERR_PROBES_LISTEN: { status: 500, meaning: 'the probe listener (`probes.listen`) could not bind its address (not sent over HTTP)' },

  // ---- health checks and alert webhooks (reasons in health results and logs) ----
  COMMY_ERR_HEALTH_CHECK_TIMEOUT: { status: 504, meaning: 'an active health check did not finish within its timeout' },
  COMMY_ERR_HEALTH_CHECK_CANCELLED: { status: 500, meaning: 'a health check was cancelled (monitor stopped, endpoint left)' },
  COMMY_ERR_WEBHOOK_TIMEOUT: { status: 504, meaning: 'an alert webhook delivery did not finish within its timeout' },

  // ---- gossip membership (logs and startup) ----
  COMMY_ERR_GOSSIP_DECODE: { status: 500, meaning: 'a gossip message could not be decoded (truncated, oversized, bad field)' },
  COMMY_ERR_GOSSIP_EXCHANGE: { status: 500, meaning: 'a gossip push-pull exchange did not complete' },
  COMMY_ERR_GOSSIP_META: { status: 500, meaning: 'the local gossip metadata does not fit in one packet' },
  COMMY_ERR_GOSSIP_KEY: { status: 500, meaning: 'a gossip key is not base64 of 16, 24 or 32 bytes' },
  COMMY_ERR_GOSSIP_BIND: { status: 500, meaning: 'the gossip transport could not bind its UDP/TCP sockets' },

  // ---- config ----
  COMMY_ERR_CONFIG: { status: 500, meaning: 'the config file is invalid (CLI exit code 2; a reload answers COMMY_ERR_ADMIN_RELOAD_REFUSED)' },

  // ---- deployment tools ----
  COMMY_ERR_INJECT: { status: 500, meaning: '`commy inject` cannot inject a document (not YAML, a malformed workload, a port taken): CLI exit code 2' },
} as const satisfies Record<`COMMY_ERR_${string}`, ErrorRow>)

export type ErrorCode = keyof typeof ERRORS

export class CommyError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** The service the message already names (error bodies then do not name it again). */
  readonly service?: string
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.status = ERRORS[code].status
  }
}

/**
 * An error commy did not expect: a bug in commy, a plugin or a layer (TypeError and the like),
 * never an upstream failure. The original is the `cause`; whoever converts it logs its stack.
 */
export class InternalError extends CommyError {
  constructor(message = 'internal error', options?: { cause?: unknown }) {
    super('COMMY_ERR_INTERNAL', message, options)
  }
}

/** `err` itself when it is one of ours, else an InternalError with `err` as its cause. */
export function toCommyError(err: unknown): CommyError {
  return err instanceof CommyError ? err : new InternalError('internal error', { cause: err })
}

/** A config file that cannot be used: file, line and key path are part of the message. */
export class ConfigError extends CommyError {
  readonly file: string
  readonly issues: readonly ConfigIssue[]
  constructor(file: string, issues: readonly ConfigIssue[]) {
    super('COMMY_ERR_CONFIG', formatIssues(file, issues))
    this.file = file
    this.issues = issues
  }
}

export interface ConfigIssue {
  /** Key path such as `services.payments.endpoints[0].weight` ('' for the document). */
  readonly path: string
  readonly line?: number
  readonly column?: number
  readonly message: string
}

function formatIssues(file: string, issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => {
      const where = i.line !== undefined ? `${file}:${i.line}${i.column !== undefined ? `:${i.column}` : ''}` : file
      return `${where}: ${i.path || '(document)'}: ${i.message}`
    })
    .join('\n')
}

/** No route of the listener matched the request. */
export class NoRouteError extends CommyError {
  constructor(message = 'no route matches this request') {
    super('COMMY_ERR_NO_ROUTE', message)
  }
}

/** Inbound authorization: the calling service may not call this local service (`local.services[].allow`). */
export class ForbiddenError extends CommyError {
  override readonly service: string
  constructor(
    service: string,
    readonly caller: string,
  ) {
    super('COMMY_ERR_FORBIDDEN', `service "${service}" does not allow calls from "${caller}"`)
    this.service = service
  }
}

/** The service has no endpoint that may take traffic. */
export class NoHealthyEndpointError extends CommyError {
  override readonly service: string
  constructor(service: string, detail?: string) {
    super('COMMY_ERR_NO_HEALTHY_ENDPOINT', `service "${service}" has no healthy endpoint${detail ? ` (${detail})` : ''}`)
    this.service = service
  }
}

/** Connecting to the endpoint failed (refused, unreachable, DNS). */
export class UpstreamConnectError extends CommyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_UPSTREAM_CONNECT', `could not connect to ${endpoint}`, options)
  }
}

/**
 * A mesh endpoint's certificate does not carry the identity of the service it was dialled for
 * (spiffe://<cluster>/service/<name>): found in the TLS handshake, so nothing of the request was
 * sent. The endpoint is taken out of picking for a while (transport/identity-refusals.ts).
 */
export class UpstreamIdentityError extends CommyError {
  /** The SPIFFE ID the endpoint must present. */
  readonly expected: string
  /** What it presented (undefined: no commy identity in its certificate). */
  readonly presented: string | undefined
  constructor(endpoint: string, expected: string, presented: string | undefined) {
    super('COMMY_ERR_UPSTREAM_IDENTITY', `${endpoint} presented ${presented ?? 'no mesh identity'}, expected ${expected}`)
    this.expected = expected
    this.presented = presented
  }
}

/**
 * How far a request had got when its connection closed:
 *  - `unwritten`: never handed to a connection, nothing of it left this process (safe to send again);
 *  - `idle-race`: written on a reused keep-alive connection that closed before any byte of the
 *    answer (the keep-alive race: most likely the endpoint closed it as idle, but the request may
 *    have reached it);
 *  - `written`: the endpoint dropped a request it had started to receive or answer.
 */
export type ResetStage = 'unwritten' | 'idle-race' | 'written'

/** The upstream closed or reset the connection mid-exchange. */
export class UpstreamResetError extends CommyError {
  readonly stage: ResetStage
  constructor(endpoint: string, stage: ResetStage, options?: { cause?: unknown }) {
    super('COMMY_ERR_UPSTREAM_RESET', `connection to ${endpoint} was reset`, options)
    this.stage = stage
  }
  /** Nothing of the answer arrived on a fresh or reused connection: not the endpoint's failure. */
  get beforeAnswer(): boolean {
    return this.stage !== 'written'
  }
}

/** A gRPC request (content-type application/grpc) to a service with `protocol: http1`: never sent. */
export class GrpcOverHttp1Error extends CommyError {
  constructor(service: string) {
    super('COMMY_ERR_GRPC_OVER_HTTP1', `gRPC needs HTTP/2: service "${service}" is spoken to over HTTP/1.1 (set services.${service}.protocol: http2)`)
  }
}

/** The upstream answered with something that is not valid HTTP. */
export class UpstreamProtocolError extends CommyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_UPSTREAM_PROTOCOL', `invalid response from ${endpoint}`, options)
  }
}

/** The config key of a timeout that fired: named in the message, so nobody has to guess which. */
export type UpstreamTimeoutSetting = 'timeout' | 'retries.perTryTimeout' | 'grpc-timeout'

/** The route's timeout or per-try timeout elapsed. */
export class UpstreamTimeoutError extends CommyError {
  /** The setting that fired (the route's `timeout` unless said otherwise). */
  readonly setting: UpstreamTimeoutSetting
  constructor(endpoint: string | undefined, timeoutMs: number, options?: { cause?: unknown; setting?: UpstreamTimeoutSetting }) {
    const setting = options?.setting ?? 'timeout'
    const what = setting === 'grpc-timeout' ? "the client's grpc-timeout" : `route \`${setting}\``
    super('COMMY_ERR_UPSTREAM_TIMEOUT', `upstream${endpoint ? ` ${endpoint}` : ''} did not answer within ${timeoutMs}ms (${what})`, options)
    this.setting = setting
  }
}

/**
 * A gRPC endpoint answered a call with a non-OK `grpc-status` and nothing else (a trailers-only
 * response: the status is in the head, no message follows). It travels as a failed try so that
 * the failure classifier and the retry rules judge it like any other outcome; the endpoint's
 * `response` (type of the pipeline's UpstreamResponse) is what the client gets when it is not
 * retried.
 */
export class UpstreamGrpcStatusError<R = unknown> extends CommyError {
  constructor(
    endpoint: string,
    readonly grpcStatus: number,
    readonly response: R,
  ) {
    super('COMMY_ERR_UPSTREAM_GRPC_STATUS', `${endpoint} answered grpc-status ${grpcStatus}`)
  }
}

/** The endpoint's circuit breaker is open (or half-open with its trial in flight). */
export class BreakerOpenError extends CommyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_BREAKER_OPEN', `circuit breaker for ${endpoint} is open`, options)
  }
}

/** The service's concurrency limit (in flight plus queued) is full. */
export class OverloadedError extends CommyError {
  override readonly service: string
  constructor(service: string, reason: string) {
    super('COMMY_ERR_OVERLOADED', `service "${service}" is over its concurrency limit: ${reason}`)
    this.service = service
  }
}

/** Errno codes of our own process (or system) running out of descriptors: a local condition, never the peer's. */
export const DESCRIPTOR_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE'])

/** commy ran out of file descriptors (EMFILE/ENFILE) opening a connection: a local condition, never the endpoint's failure. */
export class LocalResourcesError extends CommyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_LOCAL_RESOURCES', `out of file descriptors connecting to ${endpoint}`, options)
  }
}

/** The retry budget of the service is spent; the failure of the last try is the cause. */
export class RetryBudgetExhaustedError extends CommyError {
  override readonly service: string
  constructor(service: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_RETRY_BUDGET', `retry budget of service "${service}" is exhausted`, options)
    this.service = service
  }
}

/** The client sent something commy will not forward (400). */
export class BadRequestError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_BAD_REQUEST', message)
  }
}

/** A method commy does not proxy (CONNECT). */
export class MethodNotAllowedError extends CommyError {
  constructor(method: string) {
    super('COMMY_ERR_METHOD_NOT_ALLOWED', `${method} is not supported`)
  }
}

/** The client was too slow sending its request (headers or whole-request timeout of `limits`). */
export class RequestTimeoutError extends CommyError {
  constructor(message = 'request timed out') {
    super('COMMY_ERR_REQUEST_TIMEOUT', message)
  }
}

/** The request headers exceed `limits.maxHeaderSize` (bytes) or `limits.maxHeaderCount`. */
export class HeadersTooLargeError extends CommyError {
  constructor(message = 'request headers too large') {
    super('COMMY_ERR_HEADERS_TOO_LARGE', message)
  }
}

/** The request-target is longer than `limits.maxUriLength`. */
export class UriTooLongError extends CommyError {
  constructor(maxUriLength: number) {
    super('COMMY_ERR_URI_TOO_LONG', `request-target longer than ${maxUriLength} bytes`)
  }
}

/** A request transfer coding other than `chunked` (RFC 9112 §6.1: 501). */
export class TransferEncodingError extends CommyError {
  constructor() {
    super('COMMY_ERR_TRANSFER_ENCODING', 'Transfer-Encoding other than chunked is not supported')
  }
}

/** A request whose HTTP major version is not 1. */
export class HttpVersionError extends CommyError {
  constructor(major: number, minor: number) {
    super('COMMY_ERR_HTTP_VERSION', `HTTP/${major}.${minor} is not supported`)
  }
}

/** An Upgrade request on a listener without an upgrade transport. */
export class UpgradeUnsupportedError extends CommyError {
  constructor() {
    super('COMMY_ERR_UPGRADE_UNSUPPORTED', 'upgrade is not supported')
  }
}

/** The sidecar is draining and takes no new requests. */
export class DrainingError extends CommyError {
  constructor() {
    super('COMMY_ERR_DRAINING', 'sidecar is draining')
  }
}

/** The client went away before the response was complete. */
export class ClientAbortedError extends CommyError {
  constructor() {
    super('COMMY_ERR_CLIENT_ABORTED', 'client closed the connection')
  }
}

/** Freezes the table and each of its rows. */
function freezeTable<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) Object.freeze(v)
  return Object.freeze(o)
}

/** `commy inject` cannot inject a document: the message names the document and the reason. */
export class InjectError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_INJECT', message)
  }
}
