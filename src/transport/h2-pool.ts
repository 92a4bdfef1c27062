/**
 * HTTP/2 to one endpoint (`services.<name>.protocol: http2`): a small pool of `node:http2`
 * sessions, each carrying up to `maxConcurrentStreams` streams at once (fewer if the endpoint's
 * SETTINGS say so). A try takes a slot on the first session with room; with none, a new
 * session is dialled (up to `connections`); beyond that the try waits in FIFO order for a slot.
 *
 * Why not undici's HTTP/2 client: it sends a request with a streamed body (every gRPC call) only
 * when no other request is in flight on the connection, so calls would not multiplex; and it
 * cannot send request trailers.
 *
 * A session is dialled by a `Dial` (plain TCP = h2c with prior knowledge, a Unix socket, or
 * TLS with ALPN `h2`): nothing is written before the socket is connected, so a dial failure is
 * a connect failure. A session that received GOAWAY takes no new stream; its streams above the
 * GOAWAY's last stream id are refused by the endpoint (REFUSED_STREAM: never processed) and are
 * tried again like a request that never left (h2-exchange.ts). An idle session closes after
 * `keepAliveTimeoutMs`.
 */
import http2, { type ClientHttp2Session } from 'node:http2'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { UpstreamConnectError, UpstreamProtocolError } from '../errors.js'

/** Connects one socket to the endpoint (TLS: handshake done, ALPN chosen). */
export type Dial = (cb: (err: Error | null, socket: Duplex | null) => void) => void

export interface H2Limits {
  readonly connections: number
  readonly maxConcurrentStreams: number
  readonly connectTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  /** Dialled over TLS (`:scheme` https). */
  readonly tls: boolean
}

/** A try waiting for a stream slot. `cancelled`: it left the queue (its owner settled it). */
export interface SlotWaiter {
  onSlot(conn: H2Conn): void
  onSlotError(err: Error): void
  cancelled: boolean
}

/** One HTTP/2 connection of the pool. */
export class H2Conn {
  session: ClientHttp2Session | null = null
  /** Streams given out (running, or waiting for the dial). */
  active = 0
  /** Streams that completed on it: a reset of a used connection can be the idle race. */
  completed = 0
  /** GOAWAY received or closing: no new streams. */
  draining = false
  /** The last stream id the endpoint will process (from its GOAWAY); Infinity = none received. */
  lastStreamId = Number.POSITIVE_INFINITY
  /** Waiting for the dial to finish. */
  dialWaiters: SlotWaiter[] | null = []
  idleTimer: NodeJS.Timeout | null = null
  readonly pool: H2Pool
  constructor(pool: H2Pool) {
    this.pool = pool
  }

  /** Streams the endpoint lets us run at once on this connection. */
  get limit(): number {
    const theirs = this.session?.remoteSettings.maxConcurrentStreams
    const ours = this.pool.limits.maxConcurrentStreams
    return theirs === undefined || theirs > ours ? ours : theirs
  }

  /** May take a new stream: not draining, its session (once dialled) not closed or destroyed. */
  usable(): boolean {
    if (this.draining) return false
    const s = this.session
    if (s !== null && (s.closed || s.destroyed)) {
      this.draining = true
      return false
    }
    return true
  }

  /** A stream of this connection ended (any way). */
  release(): void {
    this.active--
    this.completed++
    this.pool.released(this)
  }
}

export class H2Pool {
  readonly limits: H2Limits
  readonly address: string
  private readonly dial: Dial
  private readonly conns: H2Conn[] = []
  private readonly waiters: SlotWaiter[] = []
  private closed = false

  constructor(address: string, dial: Dial, limits: H2Limits) {
    this.address = address
    this.dial = dial
    this.limits = limits
  }

  get tls(): boolean {
    return this.limits.tls
  }

  /** Sessions open or dialling (tests, views). */
  get connectionCount(): number {
    return this.conns.length
  }

  /** Gives the waiter a stream slot now, or when one frees up. */
  acquire(w: SlotWaiter): void {
    if (this.closed) {
      w.onSlotError(new UpstreamConnectError(this.address, { cause: new Error('pool closed') }))
      return
    }
    const conns = this.conns
    for (let i = 0; i < conns.length; i++) {
      const c = conns[i]!
      if (c.usable() && c.active < c.limit) {
        this.give(c, w)
        return
      }
    }
    if (conns.length < this.limits.connections) {
      const c = this.connect()
      this.give(c, w)
      return
    }
    this.waiters.push(w)
  }

  private give(c: H2Conn, w: SlotWaiter): void {
    c.active++
    if (c.idleTimer !== null) {
      clearTimeout(c.idleTimer)
      c.idleTimer = null
    }
    if (c.dialWaiters !== null) c.dialWaiters.push(w)
    else w.onSlot(c)
  }

  /** Called by H2Conn.release: hands the slot to a waiter, or starts the idle timer. */
  released(c: H2Conn): void {
    this.serveWaiters()
    if (c.active === 0 && !c.draining && c.idleTimer === null && this.conns.includes(c)) {
      c.idleTimer = setTimeout(closeIdle, this.limits.keepAliveTimeoutMs, this, c)
      c.idleTimer.unref()
    }
    if (c.active === 0 && c.draining) c.session?.close()
  }

  private serveWaiters(): void {
    const q = this.waiters
    while (q.length > 0) {
      const w = q[0]!
      if (w.cancelled) {
        q.shift()
        continue
      }
      const c = this.conns.find((x) => x.usable() && x.active < x.limit)
      if (c !== undefined) {
        q.shift()
        this.give(c, w)
        continue
      }
      if (this.conns.length < this.limits.connections) {
        q.shift()
        this.give(this.connect(), w)
        continue
      }
      return
    }
  }

  private connect(): H2Conn {
    const c = new H2Conn(this)
    this.conns.push(c)
    let settled = false
    const timer = setTimeout(() => done(new UpstreamConnectError(this.address, { cause: new Error(`connect timeout after ${this.limits.connectTimeoutMs} ms`) }), null), this.limits.connectTimeoutMs)
    const done = (err: Error | null, socket: Duplex | null): void => {
      if (settled) {
        socket?.destroy()
        return
      }
      settled = true
      clearTimeout(timer)
      const waiting = c.dialWaiters ?? []
      c.dialWaiters = null
      if (err === null && socket !== null && this.closed) err = new UpstreamConnectError(this.address, { cause: new Error('pool closed') })
      if (err === null && socket !== null && 'alpnProtocol' in socket && (socket as TLSSocket).alpnProtocol !== 'h2') {
        err = new UpstreamProtocolError(this.address, { cause: new Error(`the endpoint did not accept HTTP/2 (ALPN: ${String((socket as TLSSocket).alpnProtocol)})`) })
      }
      if (err !== null || socket === null) {
        socket?.destroy()
        this.remove(c)
        c.active = 0
        for (const w of waiting) if (!w.cancelled) w.onSlotError(err ?? new UpstreamConnectError(this.address))
        this.serveWaiters()
        return
      }
      this.open(c, socket)
      for (const w of waiting) {
        if (w.cancelled) c.release()
        else w.onSlot(c)
      }
    }
    try {
      this.dial(done)
    } catch (err) {
      queueMicrotask(() => done(err as Error, null))
    }
    return c
  }

  /** Connection counting (the transport's, as undici pools' 'connect'/'disconnect' events): once per session. */
  onConnection: { onConnect(): void; onDisconnect(): void } | undefined = undefined

  private open(c: H2Conn, socket: Duplex): void {
    const counter = this.onConnection
    counter?.onConnect()
    const session = http2.connect(`http://${this.address.startsWith('unix:') ? 'localhost' : this.address}`, {
      createConnection: () => socket,
      settings: { enablePush: false },
      peerMaxConcurrentStreams: this.limits.maxConcurrentStreams,
    })
    c.session = session
    session.on('goaway', (_code: number, lastStreamId: number) => {
      c.draining = true
      c.lastStreamId = lastStreamId
      this.remove(c)
      this.serveWaiters()
    })
    session.on('error', noop) // streams get their own errors
    session.once('close', () => {
      counter?.onDisconnect()
      c.draining = true
      if (c.idleTimer !== null) clearTimeout(c.idleTimer)
      c.idleTimer = null
      this.remove(c)
      this.serveWaiters()
    })
    // the endpoint may allow fewer streams than we assumed: waiters wait for those that end
    session.on('remoteSettings', () => this.serveWaiters())
  }

  private remove(c: H2Conn): void {
    const i = this.conns.indexOf(c)
    if (i >= 0) this.conns.splice(i, 1)
  }

  /** No new streams; sessions close once their streams end. Waiters fail. */
  async close(): Promise<void> {
    this.closed = true
    this.failWaiters()
    const all = this.conns.splice(0)
    await Promise.all(all.map((c) => closeConn(c, false)))
  }

  /** Every session closed at once, failing its streams. */
  async destroy(): Promise<void> {
    this.closed = true
    this.failWaiters()
    const all = this.conns.splice(0)
    await Promise.all(all.map((c) => closeConn(c, true)))
  }

  private failWaiters(): void {
    const q = this.waiters.splice(0)
    for (const w of q) if (!w.cancelled) w.onSlotError(new UpstreamConnectError(this.address, { cause: new Error('pool closed') }))
  }
}

function closeIdle(pool: H2Pool, c: H2Conn): void {
  c.idleTimer = null
  if (c.active > 0) return
  c.draining = true
  pool.released(c)
}

function closeConn(c: H2Conn, now: boolean): Promise<void> {
  c.draining = true
  if (c.idleTimer !== null) clearTimeout(c.idleTimer)
  c.idleTimer = null
  const s = c.session
  if (s === null || s.destroyed) return Promise.resolve()
  return new Promise<void>((resolve) => {
    s.once('close', () => resolve())
    if (now) s.destroy()
    else s.close()
  })
}

function noop(): void {}

/** A plaintext dial: TCP `host:port`, or a Unix socket (`path`). */
export function plainDial(target: { readonly host: string; readonly port: number } | { readonly path: string }, address: string): Dial {
  return (cb) => {
    const socket = net.connect('path' in target ? { path: target.path } : { host: target.host, port: target.port })
    socket.setNoDelay(true)
    const onError = (err: Error): void => {
      socket.off('connect', onConnect)
      cb(new UpstreamConnectError(address, { cause: err }), null)
    }
    const onConnect = (): void => {
      socket.off('error', onError)
      cb(null, socket)
    }
    socket.once('error', onError)
    socket.once('connect', onConnect)
  }
}
