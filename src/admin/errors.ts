/**
 * Errors of the admin server. Each has a stable code and the HTTP status it answers with;
 * `ADMIN_ERROR_STATUS` is the table the docs list (to be merged into ERROR_STATUS in src/errors.ts).
 */
import { CommyError } from '../errors.js'

/** No admin path (or no endpoint with that id). */
export class AdminNotFoundError extends CommyError {
  constructor(message = 'no such admin path') {
    super('COMMY_ERR_ADMIN_NOT_FOUND', message, 404)
  }
}

/** The path exists but not with this method; `allow` goes into the Allow header. */
export class AdminMethodNotAllowedError extends CommyError {
  readonly allow: readonly string[]
  constructor(method: string, allow: readonly string[]) {
    super('COMMY_ERR_ADMIN_METHOD_NOT_ALLOWED', `method ${method} is not allowed here (allowed: ${allow.join(', ')})`, 405)
    this.allow = allow
  }
}

/** A bearer token is configured and the request did not carry the right one. */
export class AdminUnauthorizedError extends CommyError {
  constructor(message = 'missing or wrong bearer token') {
    super('COMMY_ERR_ADMIN_UNAUTHORIZED', message, 401)
  }
}

/** Host or Origin is not one the admin server answers (DNS rebinding, cross-site request). */
export class AdminForbiddenError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_FORBIDDEN', message, 403)
  }
}

/** A query parameter could not be understood. */
export class AdminBadRequestError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_BAD_REQUEST', message, 400)
  }
}

/** A reload is already running. */
export class AdminBusyError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_BUSY', message, 409)
  }
}

/** The new config was refused; the old one keeps serving. The message carries file:line issues. */
export class AdminReloadRefusedError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_RELOAD_REFUSED', message, 422)
  }
}

/** Too many open event streams. */
export class AdminUnavailableError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_UNAVAILABLE', message, 503)
  }
}

/** The sidecar is not ready (readiness probe). */
export class NotReadyError extends CommyError {
  constructor(reason: string) {
    super('COMMY_ERR_NOT_READY', `not ready: ${reason}`, 503)
  }
}

/** Refused to listen on a non-loopback address without a token (defence in depth behind config validation). */
export class AdminInsecureBindError extends CommyError {
  constructor(host: string) {
    super('COMMY_ERR_ADMIN_INSECURE_BIND', `refusing to bind the admin server to non-loopback ${host} without admin.token`, 500)
  }
}

/** The admin listener could not be bound (address in use, permission). */
export class AdminListenError extends CommyError {
  constructor(address: string, options?: { cause?: unknown }) {
    const why = (options?.cause as NodeJS.ErrnoException | undefined)?.code ?? (options?.cause as Error | undefined)?.message
    super('COMMY_ERR_ADMIN_LISTEN', `admin server could not listen on ${address}${why ? ` (${why})` : ''}`, 500, options)
  }
}

/** A handler failed unexpectedly (the source threw). */
export class AdminInternalError extends CommyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('COMMY_ERR_ADMIN_INTERNAL', message, 500, options)
  }
}

export const ADMIN_ERROR_STATUS: Readonly<Record<string, number>> = Object.freeze({
  COMMY_ERR_ADMIN_NOT_FOUND: 404,
  COMMY_ERR_ADMIN_METHOD_NOT_ALLOWED: 405,
  COMMY_ERR_ADMIN_UNAUTHORIZED: 401,
  COMMY_ERR_ADMIN_FORBIDDEN: 403,
  COMMY_ERR_ADMIN_BAD_REQUEST: 400,
  COMMY_ERR_ADMIN_BUSY: 409,
  COMMY_ERR_ADMIN_RELOAD_REFUSED: 422,
  COMMY_ERR_ADMIN_UNAVAILABLE: 503,
  COMMY_ERR_NOT_READY: 503,
  COMMY_ERR_ADMIN_INSECURE_BIND: 500,
  COMMY_ERR_ADMIN_LISTEN: 500,
  COMMY_ERR_ADMIN_INTERNAL: 500,
})
