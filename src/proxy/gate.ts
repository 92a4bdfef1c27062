/**
 * What a listener may add to forwarding besides routing (the inbound mTLS listener's
 * `InboundGate`, proxy/inbound-gate.ts): the host routes match on (the TLS server name), an
 * admission check after routing (authorization), the request headers it sets, and the scheme
 * requests came in on. The outbound listeners have none.
 */
import type { IncomingMessage } from 'node:http'
import type { CommyError } from '../errors.js'
import type { RouteTarget } from './targets.js'

export interface RequestGate {
  /** Scheme for X-Forwarded-Proto. */
  readonly proto: string
  /** The host routes match on, or undefined for the usual (absolute-form authority, else Host). */
  routeHost(req: IncomingMessage): string | undefined
  /** A routed request: undefined forwards it, an error is the answer (the request is not forwarded). */
  admit(req: IncomingMessage, target: RouteTarget): CommyError | undefined
  /** The upstream header list of an admitted request, rewritten (returns the list to send). */
  headers(req: IncomingMessage, headers: string[]): string[]
  /** The same for an admitted Upgrade request, whose `req.headers` are forwarded as they are. */
  upgradeHeaders(req: IncomingMessage): void
}
