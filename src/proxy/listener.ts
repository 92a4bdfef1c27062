/**
 * One outbound listener: a node:http server with the inbound limits of the config, the
 * forwarder as its request handler, Upgrade requests handed to the upgrade proxy, and a
 * client-error handler that answers 400/408/431 instead of crashing (and closes the connection:
 * nothing after a framing error can be trusted). Startable; `drain()` marks
 * every response `Connection: close`, keeps accepting for a grace period, then stops accepting
 * and waits for requests in flight.
 *
 * Connection accounting: at most `maxConnections` client connections are open (Node's
 * `server.maxConnections`: one more is accepted and closed at once, Envoy's behaviour for a
 * listener's connection limit); each refusal is reported with its reason — `limit`, or
 * `descriptors` when accepting failed with EMFILE/ENFILE (also reported as exhaustion).
 *
 * With `tls` the server is node:https (the inbound mTLS listener, proxy/inbound.ts): the same
 * limits, plus a TLS handshake within `limits.headersTimeout`; a failed handshake (no or an
 * untrusted client certificate, plaintext bytes) is refused as `tls`, a handshake whose peer
 * `tls.accept` refuses is closed at once, without an HTTP answer, as `identity`.
 *
 * HTTP/2 on the same port, no setting: a plaintext connection that starts with the h2c preface
 * (proxy/preface.ts, read within `limits.headersTimeout`), or a TLS one that chose ALPN `h2`, is
 * served by the listener's H2Sessions (proxy/h2-server.ts) with the same Forwarder; the
 * connection cap, descriptor accounting, drain (GOAWAY) and shedding cover both. An HTTP/2
 * session closed for a flood is refused as `abuse` (proxy/h2-limits.ts).
 */
import http, { type IncomingMessage, type Server } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { SecureContext, TLSSocket, TlsOptions } from 'node:tls'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { HostPort, LimitsConfig, ListenerConfig } from '../config/types.js'
import type { Startable } from '../lifecycle.js'
import { BadRequestError, DESCRIPTOR_CODES, HeadersTooLargeError, MethodNotAllowedError, RequestTimeoutError, type CommyError } from '../errors.js'
import { sendRawError } from './error-response.js'
import type { Forwarder } from './forwarder.js'
import type { ConnectionCount } from './connection-counts.js'
import { H2Sessions } from './h2-server.js'
import { sniffPreface } from './preface.js'

export type RefusalReason = 'limit' | 'descriptors' | 'tls' | 'identity' | 'abuse'
export const REFUSAL_REASONS: readonly RefusalReason[] = ['limit', 'descriptors', 'tls', 'identity', 'abuse']

/** A TLS listener's settings. */
export interface ListenerTls {
  /** The TLS server's options (client certificates, contexts per SNI, versions). */
  readonly options: TlsOptions
  /** Called after each handshake: false closes the connection at once (refused: identity). */
  readonly accept: (socket: TLSSocket) => boolean
  /** Told about each failed handshake (refused: tls). */
  readonly onHandshakeError?: (err: Error & { code?: string }) => void
}

export interface ListenerOptions {
  readonly config: ListenerConfig
  readonly limits: LimitsConfig
  readonly forwarder: Forwarder
  readonly logger: Logger
  /** Open client connections allowed (the effective cap; default `limits.maxConnections`). */
  readonly maxConnections?: number
  /** A connection was refused (accepted and closed at once). */
  readonly onRefused?: (reason: RefusalReason) => void
  /** Accepting failed for lack of descriptors. */
  readonly onDescriptorsExhausted?: () => void
  /** Serve HTTPS (the inbound mTLS listener); none: plain HTTP. */
  readonly tls?: ListenerTls
  /** Counts client connections opened and closed (connection-counts.ts). */
  readonly connections?: ConnectionCount
}

export class Listener implements Startable {
  readonly name: string
  readonly forwarder: Forwarder
  /** The listener's own config slice (name, listen address, routes as configured). */
  readonly config: ListenerConfig
  private readonly options: ListenerOptions
  private readonly server: Server
  /** HTTP/2 connections of this listener. */
  readonly h2: H2Sessions
  /** Plaintext connections whose first bytes are not in yet (no protocol owns them). */
  private readonly sniffing = new Set<Socket>()
  private bound: HostPort | undefined
  private stopped = false
  /** Ends the drain grace early (stop() during a drain). */
  private endGrace: (() => void) | undefined

  constructor(options: ListenerOptions) {
    this.options = options
    this.name = options.config.name
    this.config = options.config
    this.forwarder = options.forwarder
    const L = options.limits
    const requestTimeout = L.requestTimeoutMs
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: L.maxHeaderSize,
      requestTimeout,
      // Node requires headersTimeout <= requestTimeout (when the latter is set)
      headersTimeout: requestTimeout > 0 ? Math.min(L.headersTimeoutMs, requestTimeout) : L.headersTimeoutMs,
      keepAliveTimeout: L.keepAliveTimeoutMs,
      // Node checks headersTimeout/requestTimeout only every this often (30 s by default):
      // check often enough that they fire within 1 s of their setting
      connectionsCheckingInterval: checkingInterval(L.headersTimeoutMs, requestTimeout),
      noDelay: true,
      // a missing Host gets commy's JSON 400 (proxy/framing.ts), not Node's bare one
      requireHostHeader: false,
    }
    const tls = options.tls
    this.server =
      tls === undefined ? http.createServer(serverOptions)
      : https.createServer({ ...serverOptions, ALPNProtocols: ['h2', 'http/1.1'], ...tls.options, handshakeTimeout: L.headersTimeoutMs > 0 ? L.headersTimeoutMs : 120_000 })
    this.server.maxRequestsPerSocket = L.maxRequestsPerSocket
    // Node silently drops headers past maxHeadersCount: one above the limit, so a truncated
    // request always has more than maxHeaderCount headers and is refused (proxy/framing.ts)
    this.server.maxHeadersCount = L.maxHeaderCount + 1
    this.server.maxConnections = options.maxConnections ?? L.maxConnections
    const onRefused = options.onRefused
    if (onRefused) this.server.on('drop', () => onRefused('limit'))
    if (options.connections) this.server.on('connection', options.connections.accepted)
    if (tls !== undefined) {
      this.server.on('secureConnection', (socket: TLSSocket) => {
        if (tls.accept(socket)) return
        onRefused?.('identity')
        socket.destroy()
      })
      this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        onRefused?.('tls')
        tls.onHandshakeError?.(err)
        socket.destroy()
      })
    }
    this.h2 = new H2Sessions({ limits: L, forwarder: this.forwarder, onAbuse: () => onRefused?.('abuse') })
    this.splitProtocols(tls !== undefined, L.headersTimeoutMs)
    this.server.on('request', this.forwarder.handle)
    this.server.on('checkContinue', this.forwarder.handleContinue)
    this.server.on('clientError', onClientError)
    this.server.on('upgrade', this.forwarder.handleUpgrade)
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', noop)
      sendRawError(socket, new MethodNotAllowedError('CONNECT'), this.forwarder.newRequestId())
    })
  }

  /**
   * Puts the protocol choice in front of Node's HTTP/1.1 connection handler (the one listener
   * the server registered for 'connection', or 'secureConnection' with TLS): a plaintext socket
   * goes to it or to the HTTP/2 sessions by its preface, a TLS socket by its ALPN protocol. The
   * server keeps owning every socket (connection cap, drop and descriptor accounting, close).
   */
  private splitProtocols(secure: boolean, prefaceTimeoutMs: number): void {
    const event = secure ? 'secureConnection' : 'connection'
    const server = this.server
    const http1 = server.listeners(event)[0] as (this: Server, socket: Socket) => void
    server.removeListener(event, http1)
    const h2 = this.h2
    const toHttp1 = (socket: Socket) => {
      http1.call(server, socket)
      socket.resume()
    }
    const toH2 = (socket: Socket) => h2.accept(socket)
    if (secure) {
      server.on(event, (socket: TLSSocket) => {
        if (socket.destroyed) return // refused by tls.accept
        if (socket.alpnProtocol === 'h2') h2.accept(socket)
        else http1.call(server, socket)
      })
      return
    }
    const to = { h1: toHttp1, h2: toH2 }
    server.on(event, (socket: Socket) => sniffPreface(socket, prefaceTimeoutMs, to, this.sniffing))
  }

  /**
   * TLS: the context of handshakes without SNI (rotation; those with SNI ask SNICallback each
   * time). Node has no public setter taking a SecureContext (setSecureContext wants PEM) and
   * new connections read `_sharedCreds` (tls.Server in _tls_wrap.js); the inbound tests show a
   * rotation reaching a client that sends no SNI.
   */
  setDefaultContext(context: SecureContext): void {
    if (this.options.tls === undefined) throw new Error(`listener ${this.name} is not TLS`)
    ;(this.server as unknown as { _sharedCreds: SecureContext })._sharedCreds = context
  }

  /** The bound address (port 0 in the config gives the real port here). */
  address(): HostPort {
    if (!this.bound) throw new Error(`listener ${this.name} is not started`)
    return this.bound
  }

  start(): Promise<void> {
    const { host, port } = this.options.config.listen
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.server.off('listening', onListening)
        reject(err)
      }
      const onListening = () => {
        this.server.off('error', onError)
        const a = this.server.address()
        this.bound = typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host, port }
        this.server.on('error', (err: Error & { code?: string }) => {
          if (err.code !== undefined && DESCRIPTOR_CODES.has(err.code)) {
            this.options.onRefused?.('descriptors')
            this.options.onDescriptorsExhausted?.()
            return
          }
          this.options.logger.error({ err, listener: this.name }, 'listener error')
        })
        this.options.logger.info({ listener: this.name, address: `${formatHost(this.bound.host)}:${this.bound.port}` }, 'listening')
        resolve()
      }
      this.server.once('error', onError)
      this.server.once('listening', onListening)
      this.server.listen({ host, port })
    })
  }

  /**
   * Drains: from now on every response carries `Connection: close`; for `graceMs` new
   * connections are still accepted (clients that have not yet seen /readyz fail keep being
   * served), then the listener stops accepting, idle connections are closed, requests in flight
   * finish (their connections close afterwards). Resolves true when all finished within
   * `timeoutMs` of the listener closing, false when the deadline passed.
   */
  async drain(timeoutMs: number, graceMs = 0): Promise<boolean> {
    this.forwarder.draining = true
    this.h2.closeAll()
    if (graceMs > 0 && !this.stopped) await this.grace(graceMs)
    if (this.server.listening) this.server.close()
    this.server.closeIdleConnections()
    this.h2.closeAll()
    this.closeSniffing()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, false)
      timer.unref()
    })
    const ok = await Promise.race([this.forwarder.whenIdle().then(() => true as const), deadline])
    clearTimeout(timer)
    this.server.closeIdleConnections()
    return ok
  }

  /**
   * After drain() (not stop()): accepts again at the bound address, and responses keep their
   * connections. Rejects when the address cannot be bound again.
   */
  async resume(): Promise<void> {
    if (this.stopped) throw new Error(`listener ${this.name} is stopped`)
    this.forwarder.draining = false
    if (this.server.listening) return
    const { host, port } = this.bound ?? this.options.config.listen
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.server.off('listening', onListening)
        reject(err)
      }
      const onListening = () => {
        this.server.off('error', onError)
        resolve()
      }
      this.server.once('error', onError)
      this.server.once('listening', onListening)
      this.server.listen({ host, port })
    })
    this.options.logger.info({ listener: this.name, address: `${formatHost(host)}:${port}` }, 'listening again')
  }

  /**
   * Descriptors are short (on) or available again (off). While on, responses close their
   * connection; turning it on closes the idle keep-alive client connections at once.
   */
  shed(on: boolean): void {
    this.forwarder.shedding = on
    if (on) {
      this.server.closeIdleConnections()
      this.h2.closeAll()
    }
  }

  /** Waits `ms` (unref'd timer); stop() ends the wait early. */
  private grace(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.endGrace = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      this.endGrace = done
    })
  }

  /** Closes the server and every connection at once. Idempotent. */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    this.stopped = true
    this.endGrace?.()
    this.forwarder.draining = true
    return new Promise((resolve) => {
      if (this.server.listening) this.server.close(() => resolve())
      else resolve()
      this.server.closeAllConnections()
      this.h2.destroyAll()
      this.closeSniffing()
    })
  }

  /** Connections that have sent nothing decisive yet: idle, closed like idle keep-alive ones. */
  private closeSniffing(): void {
    for (const s of this.sniffing) s.destroy()
    this.sniffing.clear()
  }
}

function noop(): void {}

/**
 * How often Node checks its inbound timeouts: every second, or a quarter of the shortest timeout
 * when that is shorter (so a timeout fires at most 1 s, or 25 %, after its setting).
 */
export function checkingInterval(headersTimeoutMs: number, requestTimeoutMs: number): number {
  let shortest = 4000
  for (const t of [headersTimeoutMs, requestTimeoutMs]) if (t > 0 && t < shortest) shortest = t
  return Math.max(50, Math.floor(shortest / 4))
}

export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** Node's client errors by code: what the client is told (anything else: 400 malformed request). */
const CLIENT_ERRORS: Readonly<Record<string, () => CommyError>> = {
  HPE_HEADER_OVERFLOW: () => new HeadersTooLargeError(),
  ERR_HTTP_REQUEST_TIMEOUT: () => new RequestTimeoutError(),
  ERR_HTTP_HEADERS_TIMEOUT: () => new RequestTimeoutError(),
}

/** The answer to a request Node could not parse or that timed out, by the error's `code`. */
export function clientErrorAnswer(err: { code?: string }): CommyError {
  const answer = err.code !== undefined ? CLIENT_ERRORS[err.code] : undefined
  return answer !== undefined ? answer() : new BadRequestError('malformed request')
}

/** A request Node could not parse (or that timed out): answer and close, never throw. */
function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  const s = socket as Socket & { _httpMessage?: { headersSent?: boolean } }
  if (err.code === 'ECONNRESET' || !s.writable || s._httpMessage?.headersSent) {
    s.destroy()
    return
  }
  sendRawError(s, clientErrorAnswer(err), '')
}
