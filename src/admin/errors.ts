/**
 * Errors of the admin server, each with a stable code; the status it answers with is the code's
 * row in `ERRORS` (src/errors.ts). A handler that fails unexpectedly answers `InternalError`.
 */
import { CommyError } from '../errors.js'

/** No admin path (or no endpoint with that id). */
export class AdminNotFoundError extends CommyError {
  constructor(message = 'no such admin path') {
    super('COMMY_ERR_ADMIN_NOT_FOUND', message)
  }
}

/** The path exists but not with this method; `allow` goes into the Allow header. */
export class AdminMethodNotAllowedError extends CommyError {
  readonly allow: readonly string[]
  constructor(method: string, allow: readonly string[]) {
    super('COMMY_ERR_ADMIN_METHOD_NOT_ALLOWED', `method ${method} is not allowed here (allowed: ${allow.join(', ')})`)
    this.allow = allow
  }
}

/** A bearer token is configured and the request did not carry the right one. */
export class AdminUnauthorizedError extends CommyError {
  constructor(message = 'missing or wrong bearer token') {
    super('COMMY_ERR_ADMIN_UNAUTHORIZED', message)
  }
}

/** Host or Origin is not one the admin server answers (DNS rebinding, cross-site request). */
export class AdminForbiddenError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_FORBIDDEN', message)
  }
}

/** A query parameter could not be understood. */
export class AdminBadRequestError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_BAD_REQUEST', message)
  }
}

/** A reload is already running. */
export class AdminBusyError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_BUSY', message)
  }
}

/** The new config was refused; the old one keeps serving. The message carries file:line issues. */
export class AdminReloadRefusedError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_RELOAD_REFUSED', message)
  }
}

/** Too many open event streams. */
export class AdminUnavailableError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_ADMIN_UNAVAILABLE', message)
  }
}

/** The sidecar is not ready (readiness probe). */
export class NotReadyError extends CommyError {
  constructor(reason: string) {
    super('COMMY_ERR_NOT_READY', `not ready: ${reason}`)
  }
}

/** Refused to listen on a non-loopback address without a token (defence in depth behind config validation). */
export class AdminInsecureBindError extends CommyError {
  constructor(host: string) {
    super('COMMY_ERR_ADMIN_INSECURE_BIND', `refusing to bind the admin server to non-loopback ${host} without admin.token`)
  }
}

/** The admin listener could not be bound (address in use, permission). */
export class AdminListenError extends CommyError {
  constructor(address: string, options?: { cause?: unknown }) {
    const why = (options?.cause as NodeJS.ErrnoException | undefined)?.code ?? (options?.cause as Error | undefined)?.message
    super('COMMY_ERR_ADMIN_LISTEN', `admin server could not listen on ${address}${why ? ` (${why})` : ''}`, options)
  }
}

/** The probe listener (`probes.listen`) could not be bound (address in use, permission). */
export class ProbesListenError extends CommyError {
  constructor(address: string, options?: { cause?: unknown }) {
    const why = (options?.cause as NodeJS.ErrnoException | undefined)?.code ?? (options?.cause as Error | undefined)?.message
    super('COMMY_ERR_PROBES_LISTEN', `probe listener could not listen on ${address}${why ? ` (${why})` : ''}`, options)
  }
}
