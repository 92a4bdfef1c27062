/**
 * Transport over undici: one keep-alive Pool per endpoint, created on first use and closed when
 * the endpoint leaves. A mesh endpoint (`Endpoint.mtls`) gets one pool per identity presented to
 * it (the node's, or a listener's own `listeners[].tls`), dialled over mTLS by
 * `tls-connect.ts`; a static endpoint of a service with `tls` gets an HTTPS pool. Plaintext pools
 * use undici's own connector: the plaintext path does no TLS work at all.
 *
 * Requests go through `pool.dispatch` with a handler object (measured faster
 * than `pool.request`, see bench/run.ts `undici-dispatch` vs `undici-request`): no intermediate
 * Readable, and backpressure both ways — the request body is a stream undici pauses on socket
 * backpressure, the response body pauses the parser when the sink says so.
 */
import { Pool, type Dispatcher } from 'undici'
import { Readable } from 'node:stream'
import type { Endpoint } from '../endpoint/endpoint.js'
import { ClientAbortedError, GrpcOverHttp1Error, UpstreamConnectError, UpstreamProtocolError } from '../errors.js'
import type { Attempt, BodySink, Cancellable, ResponseBody, UpstreamResponse } from '../pipeline/pipeline.js'
import { onlyChunked } from '../pipeline/transfer-coding.js'
import type { Transport, UpstreamSettings } from './transport.js'
import { fromUndiciError } from './undici-errors.js'
import type { MeshCredentials } from '../tls/credentials.js'
import { meshConnector, upstreamConnector } from './tls-connect.js'
import type { UpstreamTls } from './upstream-tls.js'
import { H2Pool, plainDial, type Dial } from './h2-pool.js'
import { H2Exchange } from './h2-exchange.js'

/** What the transport tells about mesh endpoints' identities (transport/identity-refusals.ts). */
export interface IdentityWitness {
  refuse(ep: Endpoint, presented: string | undefined, expected: string): void
  verified(ep: Endpoint): void
}

export interface UndiciTransportOptions {
  /** Pool settings of a service. */
  readonly upstreamOf: (service: string) => UpstreamSettings
  /** The mesh's credentials (`tls`): mesh endpoints are dialled over mTLS with them. None: they cannot be reached. */
  readonly credentials?: MeshCredentials
  /** Whether a listener presents its own identity (`listeners[].tls`); otherwise requests through it present the node's. */
  readonly ownIdentity?: (listener: string) => boolean
  /** HTTPS material of a service's static endpoints (`services.<name>.tls`), or undefined: plaintext. */
  readonly upstreamTls?: (service: string) => UpstreamTls | undefined
  /** Told when a mesh endpoint presents another identity, or proves its own. */
  readonly identity?: IdentityWitness
  /** How a service's endpoints are spoken to (`services.<name>.protocol`); default http1. */
  readonly protocolOf?: (service: string) => 'http1' | 'http2'
}

/** Connections to one endpoint (all its pools), opened and closed since its first pool. */
export interface UpstreamConnectionCount {
  readonly service: string
  /** `host:port` */
  readonly endpoint: string
  readonly opened: number
  readonly closed: number
}

/** Counted from the pools' connect/disconnect events: once per connection, never per request. */
class PoolConnections implements UpstreamConnectionCount {
  opened = 0
  closed = 0
  constructor(
    readonly service: string,
    readonly endpoint: string,
  ) {}
  readonly onConnect = (): void => {
    this.opened++
  }
  readonly onDisconnect = (): void => {
    this.closed++
  }
}
/** An endpoint's connections: undici (HTTP/1.1) or an HTTP/2 session pool. */
type AnyPool = Pool | H2Pool

/** The key of the node's identity among an endpoint's mesh pools. */
const NODE_IDENTITY = ''

export class UndiciTransport implements Transport {
  private readonly pools = new Map<Endpoint, AnyPool>()
  /** Mesh endpoints: one pool per identity presented ('' = the node's, else a listener's name). */
  private readonly meshPools = new Map<Endpoint, Map<string, AnyPool>>()
  /** Connection counts per endpoint (gone with its pools). */
  private readonly connections = new Map<Endpoint, PoolConnections>()
  private readonly upstreamOf: (service: string) => UpstreamSettings
  private readonly options: UndiciTransportOptions
  private closed = false

  constructor(options: UndiciTransportOptions) {
    this.upstreamOf = options.upstreamOf
    this.options = options
  }

  readonly send = (attempt: Attempt): Promise<UpstreamResponse> => {
    const ep = attempt.endpoint
    // `mtls` first: an endpoint announced again with mTLS never reuses a plaintext pool
    const p = ep.mtls ? this.meshPool(ep, attempt.request.listener) : (this.pools.get(ep) ?? this.open(ep))
    if (p === undefined) return Promise.reject(new UpstreamConnectError(ep.address, { cause: new Error('a mesh endpoint (mTLS) and no tls configured') }))
    if (p instanceof H2Pool) {
      const scheme = ep.mtls || p.tls ? 'https' : 'http'
      return new Promise<UpstreamResponse>((resolve, reject) => void new H2Exchange(attempt, p, scheme, resolve, reject))
    }
    if (attempt.request.grpc === true) return Promise.reject(new GrpcOverHttp1Error(ep.service))
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const ex = new Exchange(attempt, resolve, reject)
      p.dispatch(dispatchOptions(attempt), ex)
    })
  }

  /** Number of open pools (for tests and views). */
  get poolCount(): number {
    let n = this.pools.size
    for (const m of this.meshPools.values()) n += m.size
    return n
  }

  /** Connections per endpoint so far (read at scrape time). */
  connectionCounts(): UpstreamConnectionCount[] {
    return [...this.connections.values()]
  }

  /** Counts the connections of a new pool of `ep`. */
  private counted(ep: Endpoint, pool: AnyPool): AnyPool {
    let c = this.connections.get(ep)
    if (c === undefined) this.connections.set(ep, (c = new PoolConnections(ep.service, ep.address)))
    if (pool instanceof H2Pool) pool.onConnection = c
    else {
      pool.on('connect', c.onConnect)
      pool.on('disconnect', c.onDisconnect)
    }
    return pool
  }

  /** A static endpoint (plaintext, or HTTPS with its service's `tls`). */
  private open(ep: Endpoint): AnyPool {
    const u = this.upstreamOf(ep.service)
    const tls = ep.source === 'static' ? this.options.upstreamTls?.(ep.service) : undefined
    const pool =
      this.http2(ep.service)
        ? newH2Pool(ep, u, tls === undefined ? plainDial(ep.socketPath !== undefined ? { path: ep.socketPath } : ep, ep.address) : tlsDial(upstreamConnector(tls, ep.host, ep.address, u.connectTimeoutMs, true), ep), tls !== undefined)
        : tls === undefined
        ? newPool(ep.origin, u, undefined, ep.socketPath)
        : newPool(`https://${ep.address}`, u, upstreamConnector(tls, ep.host, ep.address, u.connectTimeoutMs))
    if (!this.closed) this.pools.set(ep, this.counted(ep, pool))
    return pool
  }

  /** A mesh endpoint's pool for the identity requests from `listener` present (undefined: no credentials). */
  private http2(service: string): boolean {
    return this.options.protocolOf?.(service) === 'http2'
  }

  private meshPool(ep: Endpoint, listener: string | undefined): AnyPool | undefined {
    const credentials = this.options.credentials
    if (credentials === undefined) return undefined
    const own = listener !== undefined && this.options.ownIdentity?.(listener) === true
    const key = own ? listener : NODE_IDENTITY
    let byIdentity = this.meshPools.get(ep)
    let pool = byIdentity?.get(key)
    if (pool !== undefined) return pool
    const u = this.upstreamOf(ep.service)
    const witness = this.options.identity
    const connect = meshConnector({
      credentials,
      listener: own ? listener : undefined,
      service: ep.service,
      address: ep.address,
      timeoutMs: u.connectTimeoutMs,
      onMismatch: witness && ((e) => witness.refuse(ep, e.presented, e.expected)),
      onVerified: witness && (() => witness.verified(ep)),
      h2: this.http2(ep.service),
    })
    pool = this.http2(ep.service) ? newH2Pool(ep, u, tlsDial(connect, ep), true) : newPool(`https://${ep.address}`, u, connect)
    if (!this.closed) {
      if (byIdentity === undefined) this.meshPools.set(ep, (byIdentity = new Map<string, AnyPool>()))
      byIdentity.set(key, this.counted(ep, pool))
    }
    return pool
  }

  /**
   * After a reload: closes the pools of the services whose HTTPS material changed, and those whose
   * service changed `protocol` (an HTTP/1.1 pool of an http2 service, or the reverse). New requests
   * open new ones; requests in flight finish on the old.
   */
  async refreshTls(changed: (service: string) => boolean): Promise<void> {
    const out: AnyPool[] = []
    for (const [ep, pool] of this.pools) {
      if ((ep.source === 'static' && changed(ep.service)) || this.staleProtocol(ep, pool)) {
        this.pools.delete(ep)
        out.push(pool)
      }
    }
    for (const [ep, byIdentity] of this.meshPools) {
      for (const [key, pool] of byIdentity) {
        if (this.staleProtocol(ep, pool)) {
          byIdentity.delete(key)
          out.push(pool)
        }
      }
    }
    await Promise.all(out.map((p) => p.close().catch(noop)))
  }

  private staleProtocol(ep: Endpoint, pool: AnyPool): boolean {
    return pool instanceof H2Pool !== this.http2(ep.service)
  }

  async release(ep: Endpoint): Promise<void> {
    const pools = this.take(ep)
    await Promise.all(pools.map((p) => p.close().catch(noop)))
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.takeAll().map((p) => p.close().catch(noop)))
  }

  async destroy(): Promise<void> {
    this.closed = true
    await Promise.all(this.takeAll().map((p) => p.destroy().catch(noop)))
  }

  private take(ep: Endpoint): AnyPool[] {
    const out: AnyPool[] = []
    const pool = this.pools.get(ep)
    if (pool !== undefined) out.push(pool)
    this.pools.delete(ep)
    const mesh = this.meshPools.get(ep)
    if (mesh !== undefined) out.push(...mesh.values())
    this.meshPools.delete(ep)
    this.connections.delete(ep)
    return out
  }

  private takeAll(): AnyPool[] {
    const out = [...this.pools.values()]
    for (const m of this.meshPools.values()) out.push(...m.values())
    this.pools.clear()
    this.meshPools.clear()
    this.connections.clear()
    return out
  }
}

function newPool(origin: string, u: UpstreamSettings, connect: ReturnType<typeof meshConnector> | undefined, socketPath?: string): Pool {
  const pool = new Pool(origin, {
    connections: u.connections,
    connectTimeout: u.connectTimeoutMs,
    keepAliveTimeout: u.keepAliveTimeoutMs,
    keepAliveMaxTimeout: Math.max(u.keepAliveTimeoutMs, 1000),
    pipelining: 1,
    // no hidden limits (undici's default is 300 s each): the route's timer and the try's
    // time-to-headers (dispatchOptions) are the only timers of a request
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(connect !== undefined ? { connect } : {}),
    ...(socketPath !== undefined ? { socketPath } : {}),
  })
  // a pool emits 'connectionError'/'disconnect' for bookkeeping only; requests get their own errors
  pool.on('connectionError', noop)
  return pool
}

function newH2Pool(ep: Endpoint, u: UpstreamSettings, dial: Dial, tls: boolean): H2Pool {
  return new H2Pool(ep.address, dial, {
    connections: u.connections,
    maxConcurrentStreams: u.maxConcurrentStreams ?? 100,
    connectTimeoutMs: u.connectTimeoutMs,
    keepAliveTimeoutMs: u.keepAliveTimeoutMs,
    tls,
  })
}

/** A TLS connector (tls-connect.ts, offering ALPN h2) as an H2Pool dial. */
function tlsDial(connect: ReturnType<typeof meshConnector>, ep: Endpoint): Dial {
  return (cb) => {
    connect({ hostname: ep.host, host: ep.address, protocol: 'https:', port: String(ep.port), servername: null } as never, (err, socket) => cb(err, socket))
  }
}

function noop(): void {}

/**
 * What a try asks undici for. Its only timer is the try's time-to-headers
 * (`retries.perTryTimeout`, 0 = none); undici's body timeout is off: the route's `timeout`
 * (proxy/call.ts) bounds the whole exchange.
 */
export function dispatchOptions(attempt: Attempt): Dispatcher.DispatchOptions {
  const req = attempt.request
  return {
    path: req.path,
    method: req.method,
    headers: req.headers,
    body: req.body,
    headersTimeout: attempt.timeoutMs,
    bodyTimeout: 0,
  }
}

type DoneCallback = (err: Error | undefined) => void

/**
 * One try in flight: the undici dispatch handler, and (once headers arrive) the
 * UpstreamResponse and its ResponseBody — one object per try, no intermediate stream.
 */
class Exchange implements UpstreamResponse, ResponseBody, Cancellable {
  status = 0
  statusText = ''
  headers: string[] = []
  /** Response trailers (chunked HTTP/1.1), set at the end of the body; undefined = none. */
  trailers: string[] | undefined = undefined
  readonly body: ResponseBody = this
  readonly endpoint: Endpoint
  requestBodyBytes = 0

  private readonly attempt: Attempt
  private resolveFn: ((r: UpstreamResponse) => void) | null
  private rejectFn: ((e: Error) => void) | null
  private abortFn: ((err: Error) => void) | null = null
  private resumeFn: (() => void) | null = null
  private cancelReason: Error | null = null
  private sink: BodySink | null = null
  private buffered: Buffer[] | null = null
  private ended = false
  private failure: Error | null = null
  /** The sink asked to pause (until resume()). */
  private wantPause = false
  /** We returned false to undici: its parser waits for resumeFn. */
  private parserPaused = false
  private connected = false
  private responseStarted = false
  private done = false
  private doneCb: DoneCallback | null = null
  private doneMore: DoneCallback[] | null = null

  constructor(attempt: Attempt, resolve: (r: UpstreamResponse) => void, reject: (e: Error) => void) {
    this.attempt = attempt
    this.endpoint = attempt.endpoint
    this.resolveFn = resolve
    this.rejectFn = reject
    attempt.setCanceller(this)
  }

  // ---- Cancellable ----
  cancel(reason: Error): void {
    if (this.done || this.cancelReason !== null) return
    this.cancelReason = reason
    if (this.abortFn !== null) this.abortFn(reason)
    else this.fail(reason) // still queued for a connection: settle now, abort on connect
  }

  // ---- undici dispatch handler (legacy API: raw headers, no wrapper objects) ----
  onConnect(abort: (err?: Error) => void): void {
    this.connected = true
    this.abortFn = abort
    if (this.cancelReason !== null) abort(this.cancelReason)
  }

  onResponseStarted(): void {
    this.responseStarted = true
  }

  /** undici 7 passes the chunk (its typings say a size): accept both. */
  onBodySent(chunk: Buffer | string | number): void {
    this.requestBodyBytes += typeof chunk === 'number' ? chunk : chunk.length
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true // 1xx: informational, not forwarded
    const n = raw.length
    const headers = new Array<string>(n)
    for (let i = 0; i < n; i++) headers[i] = raw[i]!.toString('latin1')
    if (!onlyChunked(headers)) {
      // undici removed the chunked framing; another coding would be lost when commy re-frames
      // the body. Aborting now (before the body completes) also destroys the connection.
      this.abortFn?.(new UpstreamProtocolError(this.endpoint.address, { cause: new Error('response Transfer-Encoding other than chunked') }))
      return false
    }
    this.headers = headers
    this.status = status
    this.statusText = statusText
    this.resumeFn = resume
    const resolve = this.resolveFn
    this.resolveFn = this.rejectFn = null
    if (resolve !== null) resolve(this)
    return true
  }

  onData(chunk: Buffer): boolean {
    const sink = this.sink
    if (sink === null) {
      if (this.buffered === null) this.buffered = [chunk]
      else this.buffered.push(chunk)
      return true
    }
    if (sink.onData(chunk) && !this.wantPause) return true
    this.wantPause = true
    this.parserPaused = true
    return false
  }

  onComplete(trailers: (Buffer | string)[] | null): void {
    if (trailers != null && trailers.length > 0) {
      const n = trailers.length
      const list = new Array<string>(n)
      for (let i = 0; i < n; i++) list[i] = latin1(trailers[i]!)
      this.trailers = list
    }
    this.ended = true
    const sink = this.sink
    if (sink !== null) sink.onEnd(undefined)
    this.finish(undefined)
  }

  onError(err: Error): void {
    const e = this.convert(err)
    if (this.resolveFn !== null) {
      this.fail(e)
      return
    }
    if (this.done) return
    this.failure = e
    const sink = this.sink
    if (sink !== null) sink.onError(e)
    this.finish(e)
  }

  // ---- ResponseBody ----
  pipe(sink: BodySink): void {
    this.sink = sink
    const buffered = this.buffered
    this.buffered = null
    if (buffered !== null) {
      const last = buffered.length - 1
      // chunks undici delivered before the sink was attached (undici was not paused for them)
      for (let i = 0; i < last; i++) if (!sink.onData(buffered[i]!)) this.wantPause = true
      if (this.ended) {
        sink.onEnd(buffered[last])
        return
      }
      if (!sink.onData(buffered[last]!)) this.wantPause = true
    }
    if (this.ended) sink.onEnd(undefined)
    else if (this.failure !== null) sink.onError(this.failure)
  }

  resume(): void {
    this.wantPause = false
    if (!this.parserPaused) return
    this.parserPaused = false
    this.resumeFn?.()
  }

  destroy(err?: Error): void {
    this.sink = null
    this.cancel(err ?? new ClientAbortedError())
  }

  onDone(cb: DoneCallback): void {
    if (this.done) {
      cb(this.failure ?? undefined)
      return
    }
    if (this.doneCb === null) this.doneCb = cb
    else (this.doneMore ??= []).push(cb)
  }

  // ---- internals ----
  private fail(e: Error): void {
    const reject = this.rejectFn
    this.resolveFn = this.rejectFn = null
    this.failure = e
    this.finish(e)
    if (reject !== null) reject(e)
  }

  private finish(err: Error | undefined): void {
    if (this.done) return
    this.done = true
    this.attempt.setCanceller(undefined)
    const cb = this.doneCb
    this.doneCb = null
    if (cb !== null) cb(err)
    const more = this.doneMore
    if (more !== null) {
      this.doneMore = null
      for (const f of more) f(err)
    }
  }

  private convert(err: Error): Error {
    if (this.cancelReason !== null) return this.cancelReason
    const body = this.attempt.request.body
    // the client's upload failed (it went away): not the endpoint's fault
    if (body instanceof Readable && (body.errored === err || (body.destroyed && !body.readableEnded))) return new ClientAbortedError()
    return fromUndiciError(err, {
      endpoint: this.endpoint.address,
      connected: this.connected,
      responseStarted: this.responseStarted,
      headersReceived: this.status !== 0,
      bodyBytesSent: this.requestBodyBytes,
      timeoutMs: this.attempt.timeoutMs,
    })
  }
}

/** undici passes raw trailers as Buffers (its typings say strings): accept both. */
function latin1(x: Buffer | string): string {
  return typeof x === 'string' ? x : x.toString('latin1')
}
