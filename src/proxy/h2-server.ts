/**
 * The HTTP/2 side of a listener: sockets the listener classified as HTTP/2 (the h2c preface,
 * proxy/preface.ts, or ALPN `h2` on the TLS listener) become sessions of a node:http2 server
 * that never listens itself; every stream is handed to the listener's one Forwarder as an
 * H2Request/H2Response pair (proxy/h2-request.ts) — routing, balancing, breakers and retries
 * per stream, on the same path as an HTTP/1.1 request.
 *
 * Per session: the frame budget of proxy/h2-limits.ts (resets, PING and SETTINGS per second;
 * over it: GOAWAY ENHANCE_YOUR_CALM, reported as abuse), an idle close (no stream open and no
 * activity for `limits.keepAliveTimeout`: GOAWAY), and the listener's keep-alive state: while
 * draining or shedding, a session is sent GOAWAY after the stream it just accepted, so streams
 * in flight finish and the client opens its next ones elsewhere (HTTP/1.1's `Connection: close`).
 */
import http2, { type Http2Server, type Http2Stream, type ServerHttp2Session } from 'node:http2'
import type { Socket } from 'node:net'
import type { LimitsConfig } from '../config/types.js'
import type { Forwarder } from './forwarder.js'
import type { ServerResponse } from 'node:http'
import { HeadersTooLargeError } from '../errors.js'
import { sendError } from './error-response.js'
import { FrameBudget, h2ServerOptions, headerListSize, type FrameKind } from './h2-limits.js'
import { H2Request, H2Response, kResetByUs } from './h2-request.js'

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants

/** Why a session was closed for abuse. */
export type H2Abuse = FrameKind | 'protocol'

export interface H2SessionsOptions {
  readonly limits: LimitsConfig
  readonly forwarder: Forwarder
  /** A session was closed for abuse (a flood; Node's own bounds: invalid frames, refused streams). */
  readonly onAbuse?: (kind: H2Abuse) => void
}

type Session = ServerHttp2Session & { [kOpen]?: number; [kAbused]?: boolean }
const kOpen = Symbol('commy.h2.open')
const kAbused = Symbol('commy.h2.abused')

export class H2Sessions {
  private readonly server: Http2Server
  private readonly sessions = new Set<Session>()
  private readonly options: H2SessionsOptions

  constructor(options: H2SessionsOptions) {
    this.options = options
    const f = options.forwarder
    this.server = http2.createServer({ ...h2ServerOptions(options.limits), Http2ServerRequest: H2Request, Http2ServerResponse: H2Response })
    // the compat objects are the IncomingMessage/ServerResponse shapes the forwarder reads
    const handle = f.handle as unknown as (req: H2Request, res: H2Response) => void
    const maxList = options.limits.http2.maxHeaderListSize
    this.server.on('request', (req: H2Request, res: H2Response) => {
      // Node enforces SETTINGS_MAX_HEADER_LIST_SIZE only once the client acknowledged it: checked here too
      if (headerListSize(req.h2RawHeaders()) > maxList) {
        sendError(res as unknown as ServerResponse, new HeadersTooLargeError(`header list larger than ${maxList} bytes`), f.newRequestId(), undefined, true)
        return
      }
      handle(req, res)
    })
    this.server.on('checkContinue', f.handleContinue as unknown as (req: H2Request, res: H2Response) => void)
    this.server.on('session', (s: Session) => this.adopt(s))
    // a session's error is followed by its close; the abuse cases are counted in adopt()
    this.server.on('sessionError', noop)
  }

  /** Sessions open. */
  get size(): number {
    return this.sessions.size
  }

  /** Serves HTTP/2 on a socket (its preface may already be buffered on it). */
  accept(socket: Socket): void {
    this.server.emit('connection', socket)
  }

  /** GOAWAY to every session: streams in flight finish, new ones go elsewhere. */
  closeAll(): void {
    for (const s of this.sessions) if (!s.closed) s.close()
  }

  /** Closes every session at once. */
  destroyAll(): void {
    for (const s of this.sessions) s.destroy()
    this.sessions.clear()
  }

  private adopt(session: Session): void {
    const { limits, forwarder } = this.options
    this.sessions.add(session)
    session[kOpen] = 0
    const budget = new FrameBudget(limits.http2, () => forwarder.clock.now())
    const spend = (kind: FrameKind) => {
      if (budget.spend(kind)) this.abuse(session, kind)
    }
    session.on('ping', () => spend('control'))
    session.on('remoteSettings', () => spend('control'))
    session.on('stream', (stream: Http2Stream & { [kResetByUs]?: boolean }) => {
      session[kOpen]!++
      stream.once('close', () => {
        session[kOpen]!--
        if (stream.rstCode !== NGHTTP2_NO_ERROR && stream.rstCode !== undefined && stream[kResetByUs] !== true) spend('reset')
      })
      // draining or shedding: this stream is served, the client's next ones go elsewhere
      if (!forwarder.keepAlive && !session.closed) session.close()
    })
    session.on('error', (err: Error & { code?: string }) => {
      // a protocol error on our side of the session: Node's own bounds (maxInvalidFrames, nghttp2's flood checks)
      // or a frame nghttp2 refused; the client closing with an error code (ERR_HTTP2_SESSION_ERROR) is not abuse
      if (err.code === 'ERR_HTTP2_ERROR') this.abuse(session, 'protocol')
    })
    session.on('goaway', noop)
    const idle = limits.keepAliveTimeoutMs
    if (idle > 0)
      session.setTimeout(idle, () => {
        if (session[kOpen] === 0 && !session.closed) session.close()
      })
    session.once('close', () => this.sessions.delete(session))
  }

  /** Over a budget: GOAWAY(ENHANCE_YOUR_CALM), the session closed, reported once. */
  private abuse(session: Session, kind: H2Abuse): void {
    if (session[kAbused] === true) return
    session[kAbused] = true
    this.options.onAbuse?.(kind)
    if (!session.destroyed) {
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM)
      session.destroy()
    }
  }
}

function noop(): void {}
