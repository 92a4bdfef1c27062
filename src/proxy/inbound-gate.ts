/**
 * Who may call which local service over the inbound mTLS listener (Consul's intentions, Linkerd's
 * authorization policy, in their simplest form):
 *
 * - identity, once per connection: the client certificate already chains to `tls.ca` (the TLS
 *   server checked it); its one SPIFFE URI SAN must name a service of our trust domain
 *   (`spiffe://<gossip.cluster>/service/<name>`, tls/identity.ts), else the connection is closed
 *   at once, without an HTTP answer;
 * - the target: the TLS server name (SNI), or the Host header without port where the client sent
 *   no SNI; the route table has one route per local service;
 * - authorization, per request: `local.services[].allow` lists the calling services (absent: any
 *   identity of our trust domain); refused: `403 COMMY_ERR_FORBIDDEN`;
 * - headers: `x-commy-caller: <calling service>` is set, any the caller sent is removed.
 *
 * Decisions are counted per (service, caller) — bounded by local services × services of the
 * mesh, since every caller name comes from a certificate the mesh CA signed — and refusals are
 * logged, at most once per (service, caller) and reason per `logEveryMs` (with how many were
 * not logged), so a refused caller cannot flood the log.
 */
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { LocalServiceConfig } from '../config/types.js'
import { ForbiddenError, type CommyError } from '../errors.js'
import { identityOf } from '../tls/identity.js'
import type { RequestGate } from './gate.js'
import type { RouteTarget } from './targets.js'

/** The header naming the calling service to the local app. */
export const CALLER_HEADER = 'x-commy-caller'

/** Requests admitted and refused, per local service and calling service. */
export interface AuthzCount {
  readonly service: string
  readonly caller: string
  allowed: number
  denied: number
}

export interface InboundGateOptions {
  /** Our trust domain (gossip.cluster). */
  readonly cluster: string
  readonly services: readonly LocalServiceConfig[]
  readonly clock: Clock
  readonly logger: Logger
  /** Refusals of one kind are logged at most once per this (default 10 s). */
  readonly logEveryMs?: number
}

export class InboundGate implements RequestGate {
  readonly proto = 'https'
  /** (service, caller) -> counts; read at scrape time. */
  readonly decisions = new Map<string, AuthzCount>()
  private readonly cluster: string
  private allow = new Map<string, ReadonlySet<string> | undefined>()
  private readonly limiter: LogLimiter

  constructor(options: InboundGateOptions) {
    this.cluster = options.cluster
    this.limiter = new LogLimiter(options.clock, options.logger, options.logEveryMs ?? 10_000)
    this.reconfigure(options.services)
  }

  /** The local services and their allow lists after a reload. */
  reconfigure(services: readonly LocalServiceConfig[]): void {
    this.allow = new Map(services.map((s) => [s.name, s.allow === undefined ? undefined : new Set(s.allow)]))
  }

  /** After a handshake: remembers the caller's service; false (close the connection) when the certificate names none of our trust domain. */
  identify(socket: TLSSocket): boolean {
    const id = identityOf(socket.getPeerCertificate())
    if (id !== undefined && id.cluster === this.cluster) {
      ;(socket as CallerSocket)[kCaller] = id.service
      return true
    }
    const reason = id === undefined ? 'no commy identity in the client certificate' : `identity of another trust domain (${id.cluster})`
    this.limiter.warn(`identity\0${reason}`, { remote: socket.remoteAddress, reason }, 'inbound connection closed: the client certificate is not a mesh identity')
    return false
  }

  routeHost(req: IncomingMessage): string | undefined {
    const name = (req.socket as Partial<TLSSocket>).servername
    return typeof name === 'string' && name !== '' ? name.toLowerCase() : undefined
  }

  admit(req: IncomingMessage, target: RouteTarget): CommyError | undefined {
    const service = target.route.service
    const caller = callerOf(req)
    // identify() ran on every connection the listener kept; without a caller, refuse anyway
    if (caller === undefined) return new ForbiddenError(service, '(unknown)')
    const allowed = this.allow.get(service)
    const ok = allowed === undefined || allowed.has(caller)
    const key = `${service}\0${caller}`
    let c = this.decisions.get(key)
    if (c === undefined) this.decisions.set(key, (c = { service, caller, allowed: 0, denied: 0 }))
    if (ok) {
      c.allowed++
      return undefined
    }
    c.denied++
    this.limiter.warn(`forbidden\0${key}`, { service, caller }, 'inbound request refused: 403 COMMY_ERR_FORBIDDEN (caller not in allow)')
    return new ForbiddenError(service, caller)
  }

  headers(req: IncomingMessage, headers: string[]): string[] {
    const out = hasCallerHeader(headers) ? withoutCallerHeader(headers) : headers
    out.push(CALLER_HEADER, callerOf(req) ?? '')
    return out
  }

  upgradeHeaders(req: IncomingMessage): void {
    req.headers[CALLER_HEADER] = callerOf(req) ?? ''
  }
}

/**
 * The calling service, kept on the connection's socket. (A property, not a WeakMap entry: an
 * HTTP/2 stream's `req.socket` is Node's proxy of the session's socket, which reads through.)
 */
const kCaller = Symbol('commy.caller')
type CallerSocket = object & { [kCaller]?: string }

function callerOf(req: IncomingMessage): string | undefined {
  return (req.socket as CallerSocket)[kCaller]
}

const isCallerHeader = (name: string) => name.length === CALLER_HEADER.length && name.toLowerCase() === CALLER_HEADER

function hasCallerHeader(flat: readonly string[]): boolean {
  for (let i = 0; i < flat.length; i += 2) if (isCallerHeader(flat[i]!)) return true
  return false
}

/** A flat header list without any x-commy-caller (the rare path: a caller tried to set it). */
function withoutCallerHeader(flat: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < flat.length; i += 2) if (!isCallerHeader(flat[i]!)) out.push(flat[i]!, flat[i + 1]!)
  return out
}

/** One warning per key per period; the next one says how many were not logged. */
class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>()

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.clock.now()
    const l = this.last.get(key)
    if (l !== undefined && now - l.at < this.everyMs) {
      l.suppressed++
      return
    }
    this.logger.warn(l !== undefined && l.suppressed > 0 ? { ...fields, notLogged: l.suppressed } : fields, msg)
    if (this.last.size > 1000) this.last.clear()
    this.last.set(key, { at: now, suppressed: 0 })
  }
}
