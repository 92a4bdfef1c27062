/**
 * Typed errors. Every condition commy reports has one class with a stable `code`
 * and, where it reaches a client, the HTTP status it maps to. Foreign errors
 * (undici, opossum, node:net) are converted where they are caught, kept as `cause`.
 */
export class CommyError extends Error {
  readonly code: string
  readonly status: number
  constructor(code: string, message: string, status = 500, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.status = status
  }
}

/** A config file that cannot be used: file, line and key path are part of the message. */
export class ConfigError extends CommyError {
  readonly file: string
  readonly issues: readonly ConfigIssue[]
  constructor(file: string, issues: readonly ConfigIssue[]) {
    super('COMMY_ERR_CONFIG', formatIssues(file, issues), 500)
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
    super('COMMY_ERR_NO_ROUTE', message, 404)
  }
}

/** The service has no endpoint that may take traffic. */
export class NoHealthyEndpointError extends CommyError {
  readonly service: string
  constructor(service: string, detail?: string) {
    super('COMMY_ERR_NO_HEALTHY_ENDPOINT', `service "${service}" has no healthy endpoint${detail ? ` (${detail})` : ''}`, 503)
    this.service = service
  }
}

/** Connecting to the endpoint failed (refused, unreachable, DNS). */
export class UpstreamConnectError extends CommyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_UPSTREAM_CONNECT', `could not connect to ${endpoint}`, 502, options)
  }
}

/** The upstream closed or reset the connection mid-exchange. */
export class UpstreamResetError extends CommyError {
  /** True when nothing of the request reached the wire (safe to retry anywhere). */
  readonly beforeWrite: boolean
  constructor(endpoint: string, beforeWrite: boolean, options?: { cause?: unknown }) {
    super('COMMY_ERR_UPSTREAM_RESET', `connection to ${endpoint} was reset`, 502, options)
    this.beforeWrite = beforeWrite
  }
}

/** The upstream answered with something that is not valid HTTP. */
export class UpstreamProtocolError extends CommyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_UPSTREAM_PROTOCOL', `invalid response from ${endpoint}`, 502, options)
  }
}

/** The route's timeout or per-try timeout elapsed. */
export class UpstreamTimeoutError extends CommyError {
  constructor(endpoint: string | undefined, timeoutMs: number, options?: { cause?: unknown }) {
    super('COMMY_ERR_UPSTREAM_TIMEOUT', `upstream${endpoint ? ` ${endpoint}` : ''} did not answer within ${timeoutMs}ms`, 504, options)
  }
}

/** The endpoint's circuit breaker is open (or half-open with its trial in flight). */
export class BreakerOpenError extends CommyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_BREAKER_OPEN', `circuit breaker for ${endpoint} is open`, 503, options)
  }
}

/** The service's concurrency limit (in flight plus queued) is full. */
export class OverloadedError extends CommyError {
  constructor(service: string, reason: string) {
    super('COMMY_ERR_OVERLOADED', `service "${service}" is over its concurrency limit: ${reason}`, 503)
  }
}

/** The retry budget of the service is spent; the failure of the last try is the cause. */
export class RetryBudgetExhaustedError extends CommyError {
  constructor(service: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_RETRY_BUDGET', `retry budget of service "${service}" is exhausted`, 503, options)
  }
}

/** The client sent something commy will not forward. */
export class BadRequestError extends CommyError {
  constructor(message: string, status = 400) {
    super('COMMY_ERR_BAD_REQUEST', message, status)
  }
}

/** The sidecar is draining and takes no new requests. */
export class DrainingError extends CommyError {
  constructor() {
    super('COMMY_ERR_DRAINING', 'sidecar is draining', 503)
  }
}

/** The client went away before the response was complete. */
export class ClientAbortedError extends CommyError {
  constructor() {
    super('COMMY_ERR_CLIENT_ABORTED', 'client closed the connection', 499)
  }
}

/** Table of every code with its HTTP status: the one place the docs and the admin view read. */
export const ERROR_STATUS: Readonly<Record<string, number>> = Object.freeze({
  COMMY_ERR_CONFIG: 500,
  COMMY_ERR_NO_ROUTE: 404,
  COMMY_ERR_NO_HEALTHY_ENDPOINT: 503,
  COMMY_ERR_UPSTREAM_CONNECT: 502,
  COMMY_ERR_UPSTREAM_RESET: 502,
  COMMY_ERR_UPSTREAM_PROTOCOL: 502,
  COMMY_ERR_UPSTREAM_TIMEOUT: 504,
  COMMY_ERR_BREAKER_OPEN: 503,
  COMMY_ERR_OVERLOADED: 503,
  COMMY_ERR_RETRY_BUDGET: 503,
  COMMY_ERR_BAD_REQUEST: 400,
  COMMY_ERR_DRAINING: 503,
  COMMY_ERR_CLIENT_ABORTED: 499,
})
