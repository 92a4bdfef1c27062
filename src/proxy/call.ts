/**
 * One client request on its way through the sidecar: picks an endpoint for each try, sends it
 * through the pipeline, retries as the route's policy decides, then streams the chosen response
 * back (it is the response body's sink). A request body is buffered before the first pick
 * (proxy/request-body.ts) and watched for trickling (proxy/body-watch.ts). Client disconnects,
 * a trickling body and the route timeout cancel the try in flight. State: trying -> streaming ->
 * done (or trying -> done).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { Clock } from '../clock.js'
import type { Endpoint } from '../endpoint/endpoint.js'
import {
  ClientAbortedError,
  CommyError,
  InternalError,
  NoHealthyEndpointError,
  type RequestTimeoutError,
  toCommyError,
  UpstreamGrpcStatusError,
  UpstreamProtocolError,
  UpstreamTimeoutError,
} from '../errors.js'
import { BodyWatch } from './body-watch.js'
import { bufferLimit, PrefixedBody, readHead, type BodyHead } from './request-body.js'
import type { LimitsConfig } from '../config/types.js'
import { sendError } from './error-response.js'
import { downstreamResponseHeaders } from './headers.js'
import type { Attempt, BodySink, Cancellable, UpstreamRequest, UpstreamResponse } from '../pipeline/pipeline.js'
import type { BodyState, RetryContext } from '../pipeline/retry-rules.js'
import { pickEndpoint, type HashKeySource, type RouteTarget } from './targets.js'
import { explainRouting, explainText } from './explain.js'
import type { PickExplanation } from '../balancer/balancer.js'
import type { TryRecord } from './request-record.js'
import type { RequestTrace } from './trace.js'
import { readGrpcHead } from './grpc-body.js'
import { endGrpcStream, grpcStatusFor } from './grpc-errors.js'
import { trailersOnlyStatus } from './grpc-layer.js'
import { grpcStatusOf } from './grpc.js'

/** The limits a call holds a request body to. */
export type BodyLimits = Pick<LimitsConfig, 'requestBufferSize' | 'requestBodyIdleTimeoutMs' | 'minRequestBodyRate'>

/** What a call needs from the listener that runs it. */
export interface CallHost {
  /** False while draining or shedding load: responses close their connection. */
  readonly keepAlive: boolean
  readonly clock: Clock
  readonly bodyLimits: BodyLimits
  /** The call is over (any outcome); called exactly once. */
  finished(call: Call): void
  /** A bug surfaced in this call (its `cause` is the foreign error): log it with its stack. */
  internalError(err: InternalError, call: Call): void
}

type State = 'trying' | 'streaming' | 'done'

const kCall = Symbol('commy.call')
type CallResponse = ServerResponse & { [kCall]?: Call }

function onResClose(this: CallResponse): void {
  this[kCall]?.clientClosed()
}
function onResDrain(this: CallResponse): void {
  this[kCall]?.resumeBody()
}
function onRouteTimeout(call: Call): void {
  call.routeTimedOut()
}
function onBackoff(call: Call): void {
  call.next()
}
function onRequestEnd(this: IncomingMessage & { [kCall]?: Call }): void {
  this[kCall]?.requestComplete()
}

export class Call implements BodySink, HashKeySource {
  readonly startedAt: number
  /** Tries made so far. */
  tries = 0
  /** Status sent to the client (499: the client left first). */
  status = 0
  bytesOut = 0
  /** Error code when the call ended on an error. */
  code: string | undefined
  /** Endpoint of the last try. */
  endpoint: Endpoint | undefined
  /** Set once the call is cancelled (client gone, route timeout). */
  cancelReason: Error | null = null
  /** Every try, in order: endpoint, timing, outcome (for the access log, metrics and traces). */
  readonly tryRecords: TryRecord[] = []
  /** The Host the request named and its User-Agent (set by the forwarder, for the record). */
  authority: string | undefined = undefined
  userAgent: string | undefined = undefined
  /** The request's trace (tracing on), set by the forwarder before start(). */
  trace: RequestTrace | undefined = undefined
  /** gRPC calls: the grpc-status the client got (the endpoint's, or commy's own error's). */
  grpcStatus: number | undefined = undefined
  /** The route's timeout, or a gRPC client's shorter `grpc-timeout` (`grpcDeadline()`). */
  timeoutMs: number
  private timeoutSetting: 'timeout' | 'grpc-timeout' = 'timeout'

  private state: State = 'trying'
  private attempt: TryAttempt | null = null
  private response: UpstreamResponse | null = null
  private tried: Endpoint[] | null = null
  private timer: NodeJS.Timeout | null = null
  private backoffTimer: NodeJS.Timeout | null = null
  private controller: AbortController | null = null
  /** A request body still arriving is watched for trickling (null: none, or complete). */
  private watch: BodyWatch | null = null
  /** The last pick's explanation (routes with `explain` only). */
  private explanation: PickExplanation | undefined
  /** Its final text (header and access log), built once. */
  private explainedText: string | undefined

  constructor(
    private readonly host: CallHost,
    readonly target: RouteTarget,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly upstream: UpstreamRequest,
    readonly clientIp: string,
  ) {
    this.startedAt = host.clock.now()
    this.timeoutMs = target.route.timeoutMs
  }

  /**
   * A gRPC client's deadline (`grpc-timeout`, ms) bounds the route's timeout for this call. It
   * counts from now, not from the end of the request: the client's clock is already running.
   */
  grpcDeadline(ms: number): void {
    if (this.timeoutMs > 0 && this.timeoutMs <= ms) return
    this.timeoutMs = ms
    this.timeoutSetting = 'grpc-timeout'
  }

  // ---- HashKeySource ----
  get headers(): IncomingMessage['headers'] {
    return this.req.headers
  }
  get path(): string {
    return this.upstream.path
  }

  /** Bytes of the request body sent upstream. */
  get bytesIn(): number {
    const body = this.upstream.body
    if (Buffer.isBuffer(body)) return body.length
    return this.response?.requestBodyBytes ?? 0
  }

  /**
   * Starts the call. Without a request body (or with one already in memory) the first try starts
   * at once. A body is read into memory first, up to `bufferLimit` bytes (request buffering: a
   * slow client holds no upstream connection while it sends), and watched for trickling. The
   * route's timeout starts once the request is complete (Envoy's rule), or when a response starts.
   */
  start(): void {
    const res = this.res as CallResponse
    res[kCall] = this
    res.on('close', onResClose)
    if (this.timeoutSetting === 'grpc-timeout') this.startRouteTimer()
    const body = this.upstream.body
    if (body === null || Buffer.isBuffer(body)) {
      this.requestComplete()
      this.next()
      return
    }
    const L = this.host.bodyLimits
    // a gRPC stream's pace is the application's (its deadline bounds it), not a trickle to cut
    const grpc = this.upstream.grpc === true
    if (!grpc) this.watch = BodyWatch.start(this.req, L, this.host.clock, (e) => this.bodyTimedOut(e))
    const limit = bufferLimit(L.requestBufferSize, this.target.retry, this.upstream.method)
    if (limit <= 0) {
      this.streamRest()
      this.next()
      return
    }
    ;(grpc ? readGrpcHead : readHead)(body, limit).then(
      (head) => this.onBodyHead(body, head),
      (err: unknown) => this.fail(this.convert(err)),
    )
  }

  private onBodyHead(body: Readable, head: BodyHead): void {
    if (this.state === 'done') return
    if (head.ended) {
      this.upstream.body = head.data
      this.requestComplete()
    } else {
      this.upstream.body = new PrefixedBody(head.data, body)
      this.streamRest()
    }
    this.next()
  }

  /** The body streams upstream as it arrives: the request is complete when the client's body ends. */
  private streamRest(): void {
    const req = this.req as IncomingMessage & { [kCall]?: Call }
    req[kCall] = this
    req.once('end', onRequestEnd)
  }

  /** The whole request is in: the route's timeout starts. */
  requestComplete(): void {
    if (this.watch !== null) {
      this.watch.stop()
      this.watch = null
    }
    this.startRouteTimer()
  }

  /** Starts the route's timeout (once; a response that starts before the request is complete starts it too). */
  private startRouteTimer(): void {
    const timeout = this.timeoutMs
    if (timeout > 0 && this.timer === null && this.state !== 'done') this.timer = setTimeout(onRouteTimeout, timeout, this)
  }

  /**
   * The client trickled its body (idle or under the minimum rate): 408, the try aborted, and the
   * connection closed once the answer is out (the rest of the body will not be read).
   */
  private bodyTimedOut(e: RequestTimeoutError): void {
    this.watch = null
    if (this.state === 'done') return
    const res = this.res
    res.shouldKeepAlive = false
    this.cancel(e)
    this.fail(e)
    const socket = this.req.socket
    if (res.writableFinished || res.destroyed) socket.destroy()
    else res.once('finish', () => socket.destroy())
  }

  /** Starts the next try. */
  next(): void {
    this.backoffTimer = null
    if (this.state !== 'trying') return
    const t = this.target
    const ep = pickEndpoint(t, this.host.clock.now(), this, this.tried, t.route.explain ? (e) => (this.explanation = e) : undefined)
    if (ep === undefined) {
      this.fail(new NoHealthyEndpointError(t.endpoints.name))
      return
    }
    this.endpoint = ep
    const record: TryRecord = { endpoint: ep.address, startedAt: this.host.clock.now(), endedAt: -1, status: undefined, code: undefined }
    this.tryRecords.push(record)
    const a = new TryAttempt(this, ep, ++this.tries, t.retry.policy.perTryTimeoutMs, record)
    this.attempt = a
    if (this.trace !== undefined) this.trace.beforeTry(a.try)
    let sent: Promise<UpstreamResponse>
    try {
      sent = t.send(a)
    } catch (err) {
      sent = Promise.reject(err)
    }
    sent.then(
      (r) => this.onResponse(a, r),
      (e: unknown) => this.onFailure(a, e),
    )
  }

  private onResponse(a: TryAttempt, r: UpstreamResponse): void {
    a.ended(this.host.clock.now(), r.status, undefined)
    if (this.state !== 'trying' || a !== this.attempt) {
      r.body.destroy()
      return
    }
    const t = this.target
    if (t.retry.retriesStatus(r.status) && t.retry.decide(this.retryContext(), r.status).retry) {
      r.body.destroy()
      this.again()
      return
    }
    this.deliver(a, r)
  }

  /** Streams the chosen response to the client. */
  private deliver(a: TryAttempt, r: UpstreamResponse): void {
    this.state = 'streaming'
    this.response = r
    this.status = r.status
    if (this.timer === null) this.startRouteTimer()
    const res = this.res
    if (!this.host.keepAlive) res.shouldKeepAlive = false
    if (this.upstream.grpc === true && (this.grpcStatus = trailersOnlyStatus(r)) !== undefined) {
      this.deliverTrailersOnly(a, r)
      return
    }
    try {
      const headers = downstreamResponseHeaders(r.headers)
      if (this.explanation !== undefined) headers.push('x-commy-explain', this.explained!)
      if (r.statusText !== '') res.writeHead(r.status, r.statusText, headers)
      else res.writeHead(r.status, headers)
    } catch (err) {
      // a header Node refuses to send (invalid characters)
      r.body.destroy()
      this.state = 'trying'
      this.fail(new UpstreamProtocolError(a.endpoint.address, { cause: err }))
      return
    }
    r.body.pipe(this)
  }

  /**
   * A gRPC endpoint's trailers-only answer, forwarded as one: headers set and `end()` without
   * `writeHead`, so an HTTP/2 client gets a single HEADERS frame that ends the stream.
   */
  private deliverTrailersOnly(a: TryAttempt, r: UpstreamResponse): void {
    const res = this.res
    try {
      const h = downstreamResponseHeaders(r.headers)
      res.statusCode = r.status
      for (let i = 0; i < h.length; i += 2) if (h[i]!.charCodeAt(0) !== 58 /* : */) res.setHeader(h[i]!, h[i + 1]!)
      if (this.explanation !== undefined) res.setHeader('x-commy-explain', this.explained!)
    } catch (err) {
      r.body.destroy()
      this.state = 'trying'
      this.fail(new UpstreamProtocolError(a.endpoint.address, { cause: err }))
      return
    }
    r.body.pipe(this)
  }

  private onFailure(a: TryAttempt, err: unknown): void {
    if (this.state !== 'trying' || a !== this.attempt) {
      a.ended(this.host.clock.now(), undefined, toCommyError(err).code)
      if (err instanceof UpstreamGrpcStatusError) (err.response as UpstreamResponse).body.destroy()
      return
    }
    const e = this.convert(err)
    a.ended(this.host.clock.now(), undefined, e.code)
    if (e instanceof ClientAbortedError) {
      this.clientClosed()
      return
    }
    // the decider is asked even with `attempts: 1` (it may allow the keep-alive race one more try)
    if (this.target.retry.decide(this.retryContext(), e).retry) {
      if (e instanceof UpstreamGrpcStatusError) (e.response as UpstreamResponse).body.destroy()
      this.again()
      return
    }
    // a gRPC endpoint's own failure status: the client gets the endpoint's answer
    if (e instanceof UpstreamGrpcStatusError) this.deliver(a, e.response as UpstreamResponse)
    else this.fail(e)
  }

  /** Routes with `explain`: why the endpoint of the last try was picked (JSON), else undefined. */
  get explained(): string | undefined {
    if (this.explainedText === undefined && this.explanation !== undefined) {
      const t = this.target
      const facts = t.explainFacts?.(t.endpoints.name)
      this.explainedText = explainText(explainRouting(this.explanation, this.endpoint, this.tries, t.endpoints.snapshot, this.host.clock.now(), facts))
    }
    return this.explainedText
  }

  /** Ours as they are; anything else is a bug: InternalError (500), reported to the host once. */
  private convert(err: unknown): CommyError {
    const e = toCommyError(err)
    if (e instanceof InternalError) this.host.internalError(e, this)
    return e
  }

  private retryContext(): RetryContext {
    return {
      policy: this.target.retry.policy,
      method: this.upstream.method,
      service: this.upstream.service,
      tries: this.tries,
      body: this.bodyState(),
    }
  }

  private bodyState(): BodyState {
    const body = this.upstream.body
    if (body === null) return 'none'
    if (Buffer.isBuffer(body)) return 'buffered'
    return body instanceof Readable && !body.destroyed && !body.readableDidRead ? 'unread' : 'streamed'
  }

  private again(): void {
    ;(this.tried ??= []).push(this.attempt!.endpoint)
    this.attempt = null
    const delay = this.target.retry.backoffMs(this.tries)
    if (delay <= 0) this.next()
    else this.backoffTimer = setTimeout(onBackoff, delay, this)
  }

  // ---- BodySink: the chosen response's body, to the client ----
  onData(chunk: Buffer): boolean {
    this.bytesOut += chunk.length
    if (this.res.write(chunk)) return true
    this.res.once('drain', onResDrain)
    return false
  }

  onEnd(last: Buffer | undefined): void {
    if (this.state === 'done') return
    const trailers = this.response?.trailers
    if (trailers !== undefined) {
      writeTrailers(this.res, trailers)
      if (this.upstream.grpc === true) this.grpcStatus = grpcStatusOf(trailers) ?? this.grpcStatus
    }
    if (last !== undefined) {
      this.bytesOut += last.length
      this.res.end(last)
    } else this.res.end()
    this.complete()
  }

  onError(err: Error): void {
    if (this.state === 'done') return
    this.code = this.convert(err).code
    this.res.destroy()
    this.complete()
  }

  resumeBody(): void {
    this.response?.body.resume()
  }

  // ---- cancellation ----
  /** The client connection closed: if the response was not complete, abort the upstream request. */
  clientClosed(): void {
    if (this.state === 'done') return
    const reason = new ClientAbortedError()
    this.cancel(reason)
    this.status = reason.status
    this.code = reason.code
    this.complete()
  }

  routeTimedOut(): void {
    this.timer = null
    if (this.state === 'done') return
    const e = new UpstreamTimeoutError(this.endpoint?.address, this.timeoutMs, { setting: this.timeoutSetting })
    this.cancel(e)
    this.fail(e)
  }

  /** Lazily created: most requests never need an AbortSignal. */
  signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController()
      if (this.cancelReason !== null) this.controller.abort(this.cancelReason)
    }
    return this.controller.signal
  }

  private cancel(reason: Error): void {
    if (this.cancelReason !== null) return
    this.cancelReason = reason
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer)
      this.backoffTimer = null
    }
    const a = this.attempt
    if (a !== null) {
      if (reason instanceof CommyError) a.ended(this.host.clock.now(), undefined, reason.code)
      if (a.canceller !== undefined) a.canceller.cancel(reason)
    }
    this.response?.body.destroy(reason)
    this.controller?.abort(reason)
  }

  /** Ends the call with an error answer (or a cut connection when the response had started). */
  private fail(e: CommyError): void {
    if (this.state === 'done') return
    this.code = e.code
    if (this.state === 'streaming' || this.res.headersSent) {
      if (this.upstream.grpc === true && endGrpcStream(this.res, e, this.upstream.requestId, this.upstream.service)) this.grpcStatus = grpcStatusFor(e)
      else this.res.destroy()
    } else {
      this.status = e.status
      if (this.upstream.grpc === true) this.grpcStatus = grpcStatusFor(e)
      // out of descriptors: give the client's back rather than hold an idle connection
      sendError(this.res, e, this.upstream.requestId, this.upstream.service, this.host.keepAlive && e.code !== 'COMMY_ERR_LOCAL_RESOURCES')
    }
    this.complete()
  }

  private complete(): void {
    this.state = 'done'
    if (this.watch !== null) {
      this.watch.stop()
      this.watch = null
    }
    if (this.timer !== null) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer)
      this.backoffTimer = null
    }
    this.host.finished(this)
  }
}

class TryAttempt implements Attempt {
  canceller: Cancellable | undefined = undefined
  readonly try: number
  constructor(
    private readonly call: Call,
    readonly endpoint: Endpoint,
    tryNumber: number,
    readonly timeoutMs: number,
    private readonly record: TryRecord,
  ) {
    this.try = tryNumber
  }

  /** The try's outcome is known (the first report wins: a cancel, then the transport's error). */
  ended(at: number, status: number | undefined, code: string | undefined): void {
    const r = this.record
    if (r.endedAt >= 0) return
    r.endedAt = at
    r.status = status
    r.code = code
  }

  get request(): UpstreamRequest {
    return this.call.upstream
  }

  get signal(): AbortSignal {
    return this.call.signal()
  }

  setCanceller(c: Cancellable | undefined): void {
    const reason = this.call.cancelReason
    if (c !== undefined && reason !== null) {
      c.cancel(reason)
      return
    }
    this.canceller = c
  }
}

/**
 * The upstream's response trailers, to the client: HTTP/2 streams carry them; an HTTP/1.1 client
 * gets them only on a chunked response (Node drops them on a Content-Length one, as it must).
 * Hop-by-hop and framing fields are never trailers (RFC 9110 §6.5.1).
 */
function writeTrailers(res: ServerResponse, list: readonly string[]): void {
  const out: [string, string][] = []
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase()
    if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection' || name === 'trailer' || name === 'host') continue
    out.push([name, list[i + 1]!])
  }
  if (out.length === 0) return
  try {
    // HTTP/2 (Node's compat response) takes an object only: a list of pairs would become fields "0", "1", …
    res.addTrailers('stream' in res ? Object.fromEntries(out) : out)
  } catch {
    // a trailer Node refuses (invalid characters): the body is complete without it
  }
}
