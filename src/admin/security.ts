/**
 * Who may talk to the admin server. Pure checks, one per concern:
 * - Host: a request must name a loopback host, the configured listen host, or (when bound to a
 *   wildcard address) an IP literal. A DNS-rebinding page sends its own name and is refused.
 * - Origin: a browser's POST must come from the admin server's own origin (CSRF).
 * - Token: constant-time comparison of `Authorization: Bearer <token>`.
 * The probes (/healthz, /readyz) skip all of them: kubelet names the pod IP and has no token.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import type { CommyError } from '../errors.js'
import { AdminForbiddenError, AdminUnauthorizedError } from './errors.js'

/** probe: open to all; read: GET of state; write: changes something (POST). */
export type Access = 'probe' | 'read' | 'write'

export interface AccessPolicy {
  readonly token: string | undefined
  /** The configured listen host (IP or name). */
  readonly listenHost: string
  /** The bound port (for the same-origin check). */
  readonly port: number
}

export interface RequestFacts {
  readonly host: string | undefined
  readonly origin: string | undefined
  readonly secFetchSite: string | undefined
  readonly authorization: string | undefined
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h)
}

export function isWildcardHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]'
}

/** True when every path but the probes needs the token (bound to something other than loopback). */
export function isExposed(listenHost: string): boolean {
  return !isLoopbackHost(listenHost)
}

/** `name:port`, `[v6]:port`, `name` -> lower-cased host name without brackets; undefined if malformed. */
export function parseHost(value: string): { hostname: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/@]+))(?::(\d{1,5}))?$/.exec(value.trim())
  if (!m) return undefined
  const hostname = (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '')
  return { hostname, port: m[3] !== undefined ? Number(m[3]) : undefined }
}

function hostAllowed(hostname: string, policy: AccessPolicy): boolean {
  if (isLoopbackHost(hostname)) return true
  const listen = policy.listenHost.toLowerCase().replace(/^\[|\]$/g, '')
  if (hostname === listen) return true
  return isWildcardHost(listen) && isIP(hostname) !== 0
}

/** Reason the Host header is refused, or undefined when it is fine. */
export function checkHost(host: string | undefined, policy: AccessPolicy): string | undefined {
  if (host === undefined || host === '') return 'missing Host header'
  const parsed = parseHost(host)
  if (!parsed) return 'malformed Host header'
  if (!hostAllowed(parsed.hostname, policy)) return `Host "${parsed.hostname}" is not this admin server (DNS rebinding?)`
  return undefined
}

/** Reason a browser request's Origin is refused, or undefined (no Origin: not a browser, fine). */
export function checkOrigin(origin: string | undefined, secFetchSite: string | undefined, policy: AccessPolicy): string | undefined {
  if (secFetchSite !== undefined && secFetchSite !== 'same-origin' && secFetchSite !== 'none') return `cross-origin request (Sec-Fetch-Site: ${secFetchSite})`
  if (origin === undefined) return undefined
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return `Origin "${origin}" is not same-origin`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `Origin "${origin}" is not same-origin`
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (port !== policy.port || !hostAllowed(hostname, policy)) return `Origin "${origin}" is not same-origin`
  return undefined
}

export function tokenMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
  if (!m) return false
  const a = createHash('sha256').update(m[1]!).digest()
  const b = createHash('sha256').update(token).digest()
  return timingSafeEqual(a, b)
}

/** The refusal for a request with these facts on a path of this access class, or undefined. */
export function authorize(access: Access, facts: RequestFacts, policy: AccessPolicy): CommyError | undefined {
  if (access === 'probe') return undefined
  const badHost = checkHost(facts.host, policy)
  if (badHost) return new AdminForbiddenError(badHost)
  if (access === 'write') {
    const badOrigin = checkOrigin(facts.origin, facts.secFetchSite, policy)
    if (badOrigin) return new AdminForbiddenError(badOrigin)
  }
  const needsToken = policy.token !== undefined && (access === 'write' || isExposed(policy.listenHost))
  if (needsToken && !tokenMatches(facts.authorization, policy.token)) return new AdminUnauthorizedError()
  return undefined
}
