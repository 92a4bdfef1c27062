/**
 * One try over HTTP/2 (h2-pool.ts gives it a stream slot): the request's flat header list becomes
 * an HTTP/2 header block (`Host` -> `:authority`, connection-specific headers dropped, `te` kept
 * only as `trailers`), the body is written with backpressure, and the response streams to the
 * sink with backpressure (the stream is paused until the sink attaches). Response trailers are
 * kept for `UpstreamResponse.trailers`; request trailers (`UpstreamRequest.trailers`) are sent
 * after the body.
 *
 * Errors, as the HTTP/1.1 transport maps them (undici-errors.ts):
 *  - the session could not be dialled: UpstreamConnectError;
 *  - refused by the endpoint (REFUSED_STREAM, or above the last stream id of its GOAWAY), or the
 *    session ended before the stream was opened: UpstreamResetError `unwritten` (never
 *    processed: any method may go again);
 *  - a used session closed before any byte of the answer and no body byte was sent: `idle-race`
 *    (as the keep-alive race); otherwise `written`;
 *  - no final status within the try's time-to-headers: UpstreamTimeoutError.
 */
import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import type { Readable } from 'node:stream'
import type { Endpoint } from '../endpoint/endpoint.js'
import { ClientAbortedError, UpstreamProtocolError, UpstreamResetError, UpstreamTimeoutError, type ResetStage } from '../errors.js'
import type { Attempt, BodySink, Cancellable, ResponseBody, UpstreamResponse } from '../pipeline/pipeline.js'
import type { H2Conn, H2Pool, SlotWaiter } from './h2-pool.js'
import { isGrpcContentType } from '../config/grpc-routes.js'

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = http2.constants

/** Not allowed in HTTP/2 (RFC 9113 §8.2.2), or carried by a pseudo-header. */
const DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings'])

/** The request's header block: pseudo-headers first, names lower-cased, repeated names as arrays. */
export function h2RequestHeaders(method: string, path: string, flat: readonly string[], scheme: string, defaultAuthority: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': method, ':path': path, ':scheme': scheme, ':authority': defaultAuthority }
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase()
    const value = flat[i + 1]!
    if (DROPPED.has(name)) {
      if (name === 'host') out[':authority'] = value
      continue
    }
    if (name === 'te') {
      if (value.toLowerCase().includes('trailers')) out.te = 'trailers'
      continue
    }
    // gRPC servers expect `te: trailers` (HTTP/1.1 clients' TE is hop-by-hop and already gone)
    if (name === 'content-type' && isGrpcContentType(value)) out.te = 'trailers'
    const had = out[name]
    if (had === undefined) out[name] = value
    else if (Array.isArray(had)) had.push(value)
    else out[name] = [String(had), value]
  }
  return out
}

/** An HTTP/2 header block as commy's flat `[name, value, ...]` list, pseudo-headers left out. */
export function flatHeaders(h: IncomingHttpHeaders): string[] {
  const out: string[] = []
  for (const name in h) {
    if (name.charCodeAt(0) === 58 /* : */) continue
    const v = h[name]
    if (v === undefined) continue
    if (Array.isArray(v)) for (const x of v) out.push(name, x)
    else out.push(name, String(v))
  }
  return out
}

type DoneCallback = (err: Error | undefined) => void

export class H2Exchange implements UpstreamResponse, ResponseBody, Cancellable, SlotWaiter {
  status = 0
  statusText = ''
  headers: string[] = []
  trailers: string[] | undefined = undefined
  readonly body: ResponseBody = this
  readonly endpoint: Endpoint
  requestBodyBytes = 0
  cancelled = false

  private readonly attempt: Attempt
  private readonly scheme: string
  private conn: H2Conn | null = null
  private stream: ClientHttp2Stream | null = null
  private resolveFn: ((r: UpstreamResponse) => void) | null
  private rejectFn: ((e: Error) => void) | null
  private sink: BodySink | null = null
  private timer: NodeJS.Timeout | null = null
  private responseStarted = false
  private ended = false
  private done = false
  private failure: Error | null = null
  private doneCbs: DoneCallback[] | null = null

  constructor(attempt: Attempt, pool: H2Pool, scheme: string, resolve: (r: UpstreamResponse) => void, reject: (e: Error) => void) {
    this.attempt = attempt
    this.endpoint = attempt.endpoint
    this.scheme = scheme
    this.resolveFn = resolve
    this.rejectFn = reject
    attempt.setCanceller(this)
    if (attempt.timeoutMs > 0) this.timer = setTimeout(onHeadersTimeout, attempt.timeoutMs, this)
    if (!this.done) pool.acquire(this)
  }

  // ---- SlotWaiter ----
  onSlot(conn: H2Conn): void {
    this.conn = conn
    if (this.done) {
      this.releaseSlot()
      return
    }
    const session = conn.session!
    const req = this.attempt.request
    const body = req.body
    const ep = this.endpoint
    const headers = h2RequestHeaders(req.method, req.path, req.headers, this.scheme, ep.socketPath === undefined ? ep.address : 'localhost')
    const wantTrailers = req.trailers !== undefined
    let stream: ClientHttp2Stream
    try {
      stream = session.request(headers, { endStream: body === null && !wantTrailers, waitForTrailers: wantTrailers })
    } catch (err) {
      // the session is closing (GOAWAY between the pick and now): nothing was sent
      this.releaseSlot()
      this.fail(new UpstreamResetError(this.endpoint.address, 'unwritten', { cause: err }))
      return
    }
    this.stream = stream
    stream.once('response', (h) => this.onResponse(h))
    stream.once('trailers', (h: IncomingHttpHeaders) => (this.trailers = flatHeaders(h)))
    stream.once('close', () => this.onClose())
    stream.on('error', noop) // the close handler decides from rstCode
    if (wantTrailers) stream.once('wantTrailers', () => this.sendTrailers())
    if (body === null) {
      if (wantTrailers) stream.end()
      return
    }
    if (Buffer.isBuffer(body)) {
      this.requestBodyBytes += body.length
      stream.end(body)
      return
    }
    this.pump(body, stream)
  }

  onSlotError(err: Error): void {
    this.fail(err)
  }

  private pump(body: Readable, stream: ClientHttp2Stream): void {
    const onData = (chunk: Buffer): void => {
      this.requestBodyBytes += chunk.length
      if (!stream.write(chunk)) body.pause()
    }
    const onDrain = (): void => {
      body.resume()
    }
    const onEnd = (): void => {
      stream.off('drain', onDrain)
      stream.end()
    }
    const onError = (): void => {
      this.cancel(new ClientAbortedError())
    }
    body.on('data', onData)
    body.once('end', onEnd)
    body.once('error', onError)
    stream.on('drain', onDrain)
    stream.once('close', () => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
    })
    if (body.isPaused()) body.resume()
  }

  private sendTrailers(): void {
    const list = this.attempt.request.trailers?.()
    const s = this.stream
    if (s === null) return
    if (list === undefined || list.length === 0) {
      s.sendTrailers({})
      return
    }
    const h: OutgoingHttpHeaders = {}
    for (let i = 0; i < list.length; i += 2) h[list[i]!.toLowerCase()] = list[i + 1]!
    try {
      s.sendTrailers(h)
    } catch {
      s.sendTrailers({})
    }
  }

  private onResponse(h: IncomingHttpHeaders): void {
    this.responseStarted = true
    if (this.timer !== null) {
      clearTimeout(this.timer)
      this.timer = null
    }
    const status = Number(h[':status'])
    if (!(status >= 200 && status <= 999)) {
      this.cancel(new UpstreamProtocolError(this.endpoint.address, { cause: new Error(`invalid :status ${String(h[':status'])}`) }))
      return
    }
    this.status = status
    this.headers = flatHeaders(h)
    // the body waits in the stream (paused) until the sink attaches
    const resolve = this.resolveFn
    this.resolveFn = this.rejectFn = null
    if (resolve !== null) resolve(this)
  }

  private onClose(): void {
    const s = this.stream!
    const conn = this.conn
    this.releaseSlot()
    if (this.done || conn === null) return
    if (this.ended && s.rstCode === NGHTTP2_NO_ERROR) return
    if (s.rstCode === NGHTTP2_NO_ERROR && this.status !== 0 && s.readableEnded) return
    this.error(new UpstreamResetError(this.endpoint.address, this.stage(s, conn), { cause: new Error(`HTTP/2 stream closed (code ${s.rstCode})`) }))
  }

  /** How far the request got (see ResetStage and the module comment). */
  private stage(s: ClientHttp2Stream, conn: H2Conn): ResetStage {
    const id = s.id
    if (s.rstCode === NGHTTP2_REFUSED_STREAM || id === undefined || id > conn.lastStreamId) return 'unwritten'
    if (this.responseStarted || this.requestBodyBytes > 0) return 'written'
    return conn.completed > 0 ? 'idle-race' : 'written'
  }

  private releaseSlot(): void {
    const c = this.conn
    if (c === null) return
    this.conn = null
    c.release()
  }

  // ---- Cancellable ----
  cancel(reason: Error): void {
    if (this.done) return
    this.cancelled = true
    const s = this.stream
    if (s !== null && !s.closed) s.close(NGHTTP2_CANCEL)
    this.error(reason)
  }

  /** The try's time-to-headers passed. */
  headersTimedOut(): void {
    this.timer = null
    this.cancel(new UpstreamTimeoutError(this.endpoint.address, this.attempt.timeoutMs, { setting: 'retries.perTryTimeout' }))
  }

  // ---- ResponseBody ----
  pipe(sink: BodySink): void {
    this.sink = sink
    if (this.done) {
      if (this.failure !== null) sink.onError(this.failure)
      return
    }
    const s = this.stream!
    s.on('data', (chunk: Buffer) => {
      if (!sink.onData(chunk)) s.pause()
    })
    s.once('end', () => {
      this.ended = true
      sink.onEnd(undefined)
      this.finish(undefined)
    })
  }

  resume(): void {
    this.stream?.resume()
  }

  destroy(err?: Error): void {
    this.sink = null
    this.cancel(err ?? new ClientAbortedError())
  }

  onDone(cb: DoneCallback): void {
    if (this.done) cb(this.failure ?? undefined)
    else (this.doneCbs ??= []).push(cb)
  }

  // ---- internals ----
  private error(e: Error): void {
    if (this.done) return
    if (this.resolveFn !== null) {
      this.fail(e)
      return
    }
    this.failure = e
    this.finish(e)
    this.sink?.onError(e)
  }

  private fail(e: Error): void {
    const reject = this.rejectFn
    this.resolveFn = this.rejectFn = null
    this.cancelled = true
    this.failure = e
    this.finish(e)
    if (reject !== null) reject(e)
  }

  private finish(err: Error | undefined): void {
    if (this.done) return
    this.done = true
    if (this.timer !== null) {
      clearTimeout(this.timer)
      this.timer = null
    }
    this.attempt.setCanceller(undefined)
    const cbs = this.doneCbs
    this.doneCbs = null
    if (cbs !== null) for (const f of cbs) f(err)
  }
}

function onHeadersTimeout(x: H2Exchange): void {
  x.headersTimedOut()
}

function noop(): void {}
