/**
 * TLS connectors for the transport's pools (undici's `connect` option): one per pool, so the
 * plaintext pools keep undici's own connector and pay nothing.
 *
 * - `meshConnector`: a mesh endpoint (a node's mTLS inbound). Each new connection asks the
 *   credentials for the client context of the identity it presents (the listener's, or the
 *   node's), so a rotation reaches new connections while existing ones finish; SNI is the
 *   service name (the peer's inbound picks the local service by it); the peer's certificate must
 *   chain to the mesh CA and carry exactly `spiffe://<cluster>/service/<service>`. The identity is
 *   checked inside the handshake (`checkServerIdentity`), so a mismatch fails the connection
 *   before a byte of the request is written: UpstreamIdentityError, reported to `onMismatch`.
 *   ALPN offers http/1.1, and h2 too for a service with `protocol: http2` (h2-pool.ts requires the
 *   peer to choose it).
 * - `upstreamConnector`: HTTPS to a static endpoint outside the mesh (`services.<name>.tls`):
 *   the certificate verified against the configured CA (or the system store) for `servername`
 *   (or the endpoint host), with an optional client certificate.
 *
 * Other handshake failures (unknown CA, expired certificate, a peer that does not speak TLS) are
 * connect failures: nothing of the request was sent.
 */
import { checkServerIdentity, type PeerCertificate, type SecureContext } from 'node:tls'
import { isIP, type Socket } from 'node:net'
import { buildConnector } from 'undici'
import { CommyError, UpstreamConnectError, UpstreamIdentityError } from '../errors.js'
import type { MeshCredentials } from '../tls/credentials.js'
import { identityOf, spiffeId } from '../tls/identity.js'
import type { UpstreamTls } from './upstream-tls.js'

type Connector = buildConnector.connector
type ConnectOptions = buildConnector.Options
type Callback = buildConnector.Callback
/** What undici's connector really is: it returns the socket (its typings say void). */
type SocketConnector = (options: ConnectOptions, callback: Callback) => Socket

export interface MeshConnectorOptions {
  readonly credentials: MeshCredentials
  /** The listener whose identity is presented (undefined: the node's). */
  readonly listener: string | undefined
  readonly service: string
  /** `host:port`, for errors. */
  readonly address: string
  readonly timeoutMs: number
  /** The peer presented another identity (the connection is already failed). */
  readonly onMismatch?: (err: UpstreamIdentityError) => void
  /** The peer proved its identity. */
  readonly onVerified?: () => void
  /** Offer ALPN `h2` too (`protocol: http2`; h2-pool.ts checks the endpoint chose it). */
  readonly h2?: boolean
}

export function meshConnector(o: MeshConnectorOptions): Connector {
  const expected = spiffeId(o.credentials.cluster, o.service)
  const verify = (_host: string, cert: PeerCertificate): Error | undefined => {
    const id = identityOf(cert)
    const presented = id === undefined ? undefined : spiffeId(id.cluster, id.service)
    return presented === expected ? undefined : new UpstreamIdentityError(o.address, expected, presented)
  }
  let context: SecureContext | undefined
  let connect: Connector | undefined
  return (opts, cb) => {
    const c = o.credentials.clientContext(o.listener)
    if (c !== context || connect === undefined) {
      // a new identity (rotation): a new connector, so no TLS session of the old one is resumed
      context = c
      connect = buildConnector({
        secureContext: c,
        servername: o.service,
        checkServerIdentity: verify,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        timeout: o.timeoutMs,
        allowH2: o.h2 === true,
      })
    }
    return handshake(connect, opts, o.address, cb, (err) => {
      if (err === undefined) o.onVerified?.()
      else if (err instanceof UpstreamIdentityError) o.onMismatch?.(err)
    })
  }
}

export function upstreamConnector(tls: UpstreamTls, host: string, address: string, timeoutMs: number, h2 = false): Connector {
  const name = tls.servername ?? host
  const connect = buildConnector({
    secureContext: tls.context,
    // SNI carries a DNS name only (RFC 6066 §3); an IP is still verified against the IP SANs
    servername: isIP(name) === 0 ? name : undefined,
    checkServerIdentity: (_h: string, cert: PeerCertificate) => checkServerIdentity(name, cert),
    rejectUnauthorized: true,
    timeout: timeoutMs,
    allowH2: h2,
  })
  return (opts, cb) => handshake(connect, opts, address, cb)
}

/**
 * Runs undici's connector for an `https:` origin; a failure after the TCP connection was made
 * (the TLS handshake) becomes a typed connect error, keeping ours (identity) as they are.
 */
function handshake(connect: Connector, opts: ConnectOptions, address: string, cb: Callback, done?: (err: Error | undefined) => void): Socket {
  let tcp = false
  const socket = (connect as SocketConnector)({ ...opts, protocol: 'https:' }, (...args) => {
    const [err, s] = args
    if (err === null) {
      done?.(undefined)
      cb(null, s)
      return
    }
    const e = err instanceof CommyError || !tcp ? err : new UpstreamConnectError(address, { cause: err })
    done?.(e)
    cb(e, null)
  })
  socket.once('connect', () => (tcp = true))
  return socket
}
