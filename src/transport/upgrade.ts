/**
 * WebSocket and other Upgrade requests, forwarded with http-proxy's ws() to an endpoint the
 * forwarder picked. http-proxy (1.18.1, unmaintained) is used for upgrades only. Its best-known
 * failure is a crash on an unhandled socket error ("socket hang up"): every socket here —
 * client, upstream request, upstream socket — gets an error handler, and each side is destroyed
 * when the other closes, so neither leaks.
 */
import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import httpProxy from 'http-proxy'
import type { Endpoint } from '../endpoint/endpoint.js'
import { UpgradeUnsupportedError, UpstreamConnectError, type CommyError } from '../errors.js'

export interface UpgradeEvents {
  /** The endpoint could not be reached; the client socket is still open (answer it, or it is destroyed). */
  failed(err: CommyError): void
  /** The client socket closed (always called, once). */
  closed(err: CommyError | undefined): void
}

export interface UpgradeTransport {
  /** Connects the client socket to `ep` and pipes both ways. */
  forward(req: IncomingMessage, socket: Duplex, head: Buffer, ep: Endpoint, events: UpgradeEvents): void
  /** Closes every upgraded connection. Idempotent. */
  close(): void
}

function noop(): void {}

export interface HttpProxyUpgradesOptions {
  /**
   * Endpoints reached over TLS only (mesh endpoints, services with `tls`): upgrades to them are
   * refused before a byte is sent (not yet forwarded over TLS; never in plaintext).
   */
  readonly tlsOnly?: (ep: Endpoint) => boolean
}

export class HttpProxyUpgrades implements UpgradeTransport {
  private readonly proxy: httpProxy
  private readonly sockets = new Set<Duplex>()
  private readonly tlsOnly: ((ep: Endpoint) => boolean) | undefined

  constructor(options: HttpProxyUpgradesOptions = {}) {
    this.tlsOnly = options.tlsOnly
    this.proxy = httpProxy.createProxyServer({ ws: true, xfwd: true })
    // without this listener an upstream failure would be thrown
    this.proxy.on('error', (_err: Error, _req: IncomingMessage, target: unknown) => {
      if (target && typeof (target as Duplex).destroy === 'function') (target as Duplex).destroy()
    })
    this.proxy.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, socket: Socket) => {
      proxyReq.on('error', noop)
      const destroyRequest = () => proxyReq.destroy()
      socket.once('close', destroyRequest)
      proxyReq.on('upgrade', (_res: IncomingMessage, upstream: Socket) => {
        socket.off('close', destroyRequest)
        upstream.on('error', noop)
        this.track(upstream)
        socket.once('close', () => upstream.destroy())
        upstream.once('close', () => socket.destroy())
      })
      proxyReq.on('response', (res: IncomingMessage) => {
        // the endpoint refused the upgrade: http-proxy pipes its answer to the client
        res.on('error', noop)
        socket.once('close', () => res.destroy())
      })
    })
  }

  /** Number of open upgraded sockets (client and upstream sides). */
  get openSockets(): number {
    return this.sockets.size
  }

  forward(req: IncomingMessage, socket: Duplex, head: Buffer, ep: Endpoint, events: UpgradeEvents): void {
    if (this.tlsOnly?.(ep) === true) {
      const refused = new UpgradeUnsupportedError()
      socket.on('error', noop)
      socket.once('close', () => events.closed(refused))
      events.failed(refused)
      return
    }
    socket.on('error', noop)
    this.track(socket)
    let failed: CommyError | undefined
    socket.once('close', () => events.closed(failed))
    // a Unix socket endpoint: http-proxy dials `socketPath` (Host stays the client's)
    const target = ep.socketPath === undefined ? ep.origin : { socketPath: ep.socketPath, host: 'localhost', protocol: 'http:' }
    this.proxy.ws(req, socket, head, { target }, (err: Error) => {
      if (failed !== undefined) return
      failed = new UpstreamConnectError(ep.address, { cause: err })
      const s = socket as Socket
      if (!s.destroyed && s.writable && s.bytesWritten === 0) events.failed(failed)
      if (!s.writableEnded) socket.destroy()
    })
  }

  private track(s: Duplex): void {
    this.sockets.add(s)
    s.once('close', () => this.sockets.delete(s))
  }

  close(): void {
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    this.proxy.close()
  }
}
