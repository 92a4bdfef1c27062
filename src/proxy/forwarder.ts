/**
 * The request handler of one listener: route -> upstream request (headers rewritten) -> Call.
 * Counts requests in flight (for drain) and hands every finished request to the observers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Clock } from '../clock.js'
import { CommyError, DrainingError, NoHealthyEndpointError, NoRouteError, UpgradeUnsupportedError, type InternalError } from '../errors.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import type { UpgradeTransport } from '../transport/upgrade.js'
import { Call, type BodyLimits, type CallHost } from './call.js'
import { sendError, sendRawError } from './error-response.js'
import { requestRefusal, type RequestLimits } from './framing.js'
import { rawHeader, upstreamRequestHeaders } from './headers.js'
import { parseGrpcTimeout } from './grpc.js'
import { grpcStatusFor, isGrpcResponse } from './grpc-errors.js'
import type { UpstreamRequest } from '../pipeline/pipeline.js'
import { pathOnly, requestRecord, type RequestObserver } from './request-record.js'
import { tryCounter, type TryCounter } from '../pipeline/endpoint-stats.js'
import type { RequestGate } from './gate.js'
import type { RequestIds } from './request-id.js'
import type { RouteTable } from './routes.js'
import { pickEndpoint, type RouteTarget } from './targets.js'
import type { Tracing } from './trace.js'

export interface ForwarderOptions {
  readonly listener: string
  readonly routes: RouteTable<RouteTarget>
  readonly requestIds: RequestIds
  readonly clock: Clock
  /**
   * The config's `limits` the forwarder applies: header count and request-target length (larger
   * requests are refused), request buffering and the trickling-body limits.
   */
  readonly limits: RequestLimits & BodyLimits
  /** Told about every finished request (access log, metrics); none: no record is built. */
  readonly observe?: RequestObserver
  /** Forwards Upgrade requests (WebSocket); without it they are refused with 501. */
  readonly upgrades?: UpgradeTransport
  /** Told about bugs surfacing in a request (answered 500 COMMY_ERR_INTERNAL); the sidecar logs them. */
  readonly onInternalError?: (err: InternalError, requestId: string) => void
  /** Counts upgrades on the endpoint stats, as the endpoint-stats layer counts other tries (default: tryCounter()). */
  readonly tries?: TryCounter
  /** Routing host, admission and headers of an inbound (mTLS) listener (proxy/gate.ts); none: plain forwarding. */
  readonly gate?: RequestGate
  /** Traces requests (proxy/trace.ts); none: tracing is off and costs nothing. */
  readonly tracing?: Tracing
}

/** Where an upgrade request goes. */
export interface UpgradeTarget {
  readonly target: RouteTarget
  readonly endpoint: Endpoint
}

export class Forwarder implements CallHost {
  readonly listener: string
  readonly clock: Clock
  /** Requests being handled. */
  inFlight = 0
  /** New requests are refused (503 DRAINING upgrades) and responses close their connection. */
  draining = false
  /** Out of descriptors: responses close their connection (Envoy's disable-keepalive overload action). */
  shedding = false
  readonly bodyLimits: BodyLimits
  private routes: RouteTable<RouteTarget>
  private readonly limits: RequestLimits
  private readonly requestIds: RequestIds
  private readonly observe: RequestObserver | undefined
  private readonly upgrades: UpgradeTransport | undefined
  private readonly onInternalError: ((err: InternalError, requestId: string) => void) | undefined
  private readonly tries: TryCounter
  private readonly gate: RequestGate | undefined
  private readonly tracing: Tracing | undefined
  private idleWaiters: (() => void)[] = []

  constructor(options: ForwarderOptions) {
    this.listener = options.listener
    this.routes = options.routes
    this.limits = options.limits
    this.requestIds = options.requestIds
    this.clock = options.clock
    this.observe = options.observe
    this.upgrades = options.upgrades
    this.onInternalError = options.onInternalError
    this.tries = options.tries ?? tryCounter()
    this.gate = options.gate
    this.tracing = options.tracing
    this.bodyLimits = options.limits
  }

  get keepAlive(): boolean {
    return !this.draining && !this.shedding
  }

  /** Swaps the route table (config reload); requests in flight keep their targets. */
  setRoutes(routes: RouteTable<RouteTarget>): void {
    this.routes = routes
  }

  /** The 'request' handler. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight++
    const url = req.url ?? '/'
    let path = url
    let authority: string | undefined
    if (url.charCodeAt(0) !== 47 /* '/' */) {
      // absolute form (the app uses commy as an HTTP proxy): http://host[:port]/path
      const abs = splitAbsolute(url)
      authority = abs.host
      path = abs.path
    }
    const refused = requestRefusal(req, authority, this.limits)
    if (refused !== undefined) {
      // framing the proxy cannot trust: answer and close the connection (nothing after it is read)
      this.reject(req, res, path, refused, false)
      return
    }
    const gate = this.gate
    const target = this.routes.match({ host: gate?.routeHost(req) ?? authority, path, rawHeaders: req.rawHeaders })
    if (target === undefined) {
      this.reject(req, res, path, new NoRouteError(`no route matches ${req.method ?? 'GET'} ${pathOnly(path)}`), this.keepAlive)
      return
    }
    const refusal = gate?.admit(req, target)
    if (refusal !== undefined) {
      this.reject(req, res, path, refusal, this.keepAlive)
      return
    }
    const clientIp = req.socket.remoteAddress ?? ''
    // RFC 9112 §3.2.2: a proxy replaces Host with the authority of an absolute-form target
    const h = upstreamRequestHeaders(req.rawHeaders, clientIp, gate?.proto ?? 'http', this.requestIds.next, authority)
    const upstream: UpstreamRequest = {
      method: req.method ?? 'GET',
      path,
      headers: gate === undefined ? h.headers : gate.headers(req, h.headers),
      body: h.chunked || h.contentLength > 0 ? req : null,
      requestId: h.requestId,
      service: target.route.service,
      listener: this.listener,
      grpc: h.grpc,
      // announced request trailers (chunked): read when the body has ended, sent over HTTP/2
      ...(h.chunked && req.headers.trailer !== undefined ? { trailers: () => req.rawTrailers } : {}),
    }
    const call = new Call(this, target, req, res, upstream, clientIp)
    call.authority = h.host
    call.userAgent = h.userAgent
    if (this.tracing !== undefined) call.trace = this.tracing.begin(upstream.headers, call.startedAt)
    if (h.grpc) {
      const deadline = parseGrpcTimeout(rawHeader(req.rawHeaders, 'grpc-timeout'))
      if (deadline !== undefined) call.grpcDeadline(deadline)
    }
    call.start()
  }

  /**
   * The 'checkContinue' handler (`Expect: 100-continue`): answer 100 only when the request would
   * be forwarded (acceptable framing, a route); otherwise the client gets the error without
   * sending its body.
   */
  readonly handleContinue = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/'
    const abs = url.charCodeAt(0) !== 47 ? splitAbsolute(url) : undefined
    // (a gate's admission is decided once, by handle(): a refused caller may have sent its body)
    if (requestRefusal(req, abs?.host, this.limits) === undefined && this.routes.match({ host: this.gate?.routeHost(req) ?? abs?.host, path: abs?.path ?? url, rawHeaders: req.rawHeaders }) !== undefined) {
      res.writeContinue()
    } else res.shouldKeepAlive = false
    this.handle(req, res)
  }

  /** Route and endpoint for an Upgrade request, or the error to answer with. */
  resolveUpgrade(req: IncomingMessage): UpgradeTarget | CommyError {
    const url = req.url ?? '/'
    const abs = url.charCodeAt(0) !== 47 ? splitAbsolute(url) : undefined
    const path = abs?.path ?? url
    const refused = requestRefusal(req, abs?.host, this.limits)
    if (refused !== undefined) return refused
    const target = this.routes.match({ host: this.gate?.routeHost(req) ?? abs?.host, path, rawHeaders: req.rawHeaders })
    if (target === undefined) return new NoRouteError(`no route matches ${req.method ?? 'GET'} ${pathOnly(path)}`)
    const refusal = this.gate?.admit(req, target)
    if (refusal !== undefined) return refusal
    const endpoint = pickEndpoint(target, this.clock.now(), { headers: req.headers, path, clientIp: req.socket.remoteAddress ?? '' }, null)
    if (endpoint === undefined) return new NoHealthyEndpointError(target.endpoints.name)
    return { target, endpoint }
  }

  /** The 'upgrade' handler: WebSocket and other protocol switches, to the picked endpoint. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', noop)
    const started = this.clock.now()
    const requestId = incomingRequestId(req.rawHeaders) ?? this.requestIds.next()
    const record = (status: number, target: RouteTarget | undefined, endpoint: Endpoint | undefined, code: string | undefined) => {
      const ended = this.clock.now()
      this.observe?.(
        requestRecord({
          listener: this.listener,
          method: req.method,
          url: req.url ?? '/',
          route: target?.route,
          endpoint: endpoint?.address,
          status,
          startedAt: started,
          endedAt: ended,
          bytesIn: (socket as Socket).bytesRead ?? 0,
          bytesOut: (socket as Socket).bytesWritten ?? 0,
          attempts: endpoint === undefined ? 0 : 1,
          requestId,
          code,
          // the one try of an upgrade: switched (101) or the error it ended on
          tries: endpoint === undefined ? undefined : [{ endpoint: endpoint.address, startedAt: started, endedAt: ended, status: code === undefined ? status : undefined, code }],
        }),
      )
    }
    const resolved: UpgradeTarget | CommyError =
      this.draining ? new DrainingError()
      : this.upgrades === undefined ? new UpgradeUnsupportedError()
      : this.resolveUpgrade(req)
    if (resolved instanceof CommyError) {
      sendRawError(socket, resolved, requestId)
      record(resolved.status, undefined, undefined, resolved.code)
      return
    }
    const { target, endpoint } = resolved
    const url = req.url ?? '/'
    if (url.charCodeAt(0) !== 47) {
      // absolute form: the endpoint gets the origin-form path and the target's authority as Host
      const abs = splitAbsolute(url)
      req.url = abs.path
      if (abs.host !== undefined) req.headers.host = abs.host
    }
    this.gate?.upgradeHeaders(req)
    this.tries.begin(endpoint)
    this.upgrades!.forward(req, socket, head, endpoint, {
      failed: (err) => sendRawError(socket, err, requestId, target.route.service),
      closed: (err) => {
        this.tries.end(endpoint)
        this.tries.outcome(endpoint, err ?? 101)
        record(err === undefined ? 101 : err.status, target, endpoint, err?.code)
      },
    })
  }

  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** A new request id (for answers outside a call: upgrades, client errors). */
  newRequestId(): string {
    return this.requestIds.next()
  }

  internalError(err: InternalError, call: Call): void {
    this.onInternalError?.(err, call.upstream.requestId)
  }

  finished(call: Call): void {
    const trace = call.trace
    if (this.observe === undefined && trace === undefined) {
      this.done()
      return
    }
    const record = requestRecord({
      listener: this.listener,
      method: call.upstream.method,
      url: call.upstream.path,
      route: call.target.route,
      endpoint: call.endpoint?.address,
      status: call.status,
      startedAt: call.startedAt,
      endedAt: this.clock.now(),
      bytesIn: call.bytesIn,
      bytesOut: call.bytesOut,
      attempts: call.tries,
      requestId: call.upstream.requestId,
      code: call.code,
      explain: call.explained,
      host: call.authority,
      client: call.clientIp,
      userAgent: call.userAgent,
      httpVersion: call.req.httpVersion,
      grpcStatus: call.grpcStatus,
      tries: call.tryRecords,
    })
    this.observe?.(record)
    trace?.end(record)
    this.done()
  }

  /** Answers `err` without forwarding; `keepAlive` false closes the connection after the answer. */
  private reject(req: IncomingMessage, res: ServerResponse, path: string, err: CommyError, keepAlive: boolean): void {
    const started = this.clock.now()
    const requestId = incomingRequestId(req.rawHeaders) ?? this.requestIds.next()
    sendError(res, err, requestId, undefined, keepAlive)
    this.observe?.(
      requestRecord({
        listener: this.listener,
        method: req.method,
        url: path,
        route: undefined,
        endpoint: undefined,
        status: err.status,
        startedAt: started,
        endedAt: this.clock.now(),
        bytesIn: 0,
        bytesOut: 0,
        attempts: 0,
        requestId,
        code: err.code,
        grpcStatus: isGrpcResponse(res) ? grpcStatusFor(err) : undefined,
      }),
    )
    this.done()
  }

  private done(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const w of waiters) w()
    }
  }
}

function noop(): void {}

function incomingRequestId(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'x-request-id' && raw[i + 1] !== '') return raw[i + 1]
  return undefined
}

/** `http://host:port/path?q` -> host and origin-form path. */
export function splitAbsolute(url: string): { host: string | undefined; path: string } {
  const scheme = url.indexOf('://')
  if (scheme < 0) return { host: undefined, path: url }
  const start = scheme + 3
  let end = url.indexOf('/', start)
  const q = url.indexOf('?', start)
  if (end < 0 || (q >= 0 && q < end)) end = q
  if (end < 0) return { host: url.slice(start), path: '/' }
  const path = url.charCodeAt(end) === 47 ? url.slice(end) : `/${url.slice(end)}`
  return { host: url.slice(start, end), path }
}
