/**
 * Clients that knock on an mTLS inbound port directly, as an attacker or a misconfigured peer
 * would: a TLS client with a given certificate (or none) that sends one HTTP request once its side
 * of the handshake is done, and a plaintext HTTP client. Each reports what came back, so a test
 * can assert that no HTTP answer did. Every attempt ends on its own (timeout).
 */
import net from 'node:net'
import tls from 'node:tls'

export interface Attempt {
  /** The client's side of the handshake completed (TLS 1.3: the server may still refuse after). */
  readonly handshake: boolean
  /** Everything the server sent after the handshake (TLS) or at all (plaintext), as latin1 text. */
  readonly answer: string
  /** The error the socket ended with (code or message), if any. */
  readonly error: string | undefined
  /** The server closed the connection (rather than the attempt timing out). */
  readonly closed: boolean
  /** The server's certificate (TLS, when the handshake completed). */
  readonly peer: tls.PeerCertificate | undefined
  /** The TLS session the server gave (a ticket), to try resuming it later. */
  readonly session?: Buffer
  /** The handshake resumed the session given in the options. */
  readonly resumed?: boolean
}

export interface TlsAttemptOptions {
  readonly port: number
  /** SNI (the target service). */
  readonly servername: string
  /** PEM trust anchors for the server's certificate. */
  readonly ca: string
  readonly cert?: string
  readonly key?: string
  /** Host header of the request sent after the handshake (default: servername). */
  readonly host?: string
  readonly path?: string
  readonly timeoutMs?: number
  /** A session to resume (from an earlier attempt). */
  readonly session?: Buffer
}

const request = (host: string, path: string) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`

/** One TLS connection to 127.0.0.1:port; one GET after the client's handshake completes. */
export function tlsAttempt(o: TlsAttemptOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    let handshake = false
    let answer = ''
    let error: string | undefined
    let peer: tls.PeerCertificate | undefined
    let session: Buffer | undefined
    let resumed: boolean | undefined
    const socket = tls.connect({
      session: o.session,
      host: '127.0.0.1',
      port: o.port,
      servername: o.servername,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      minVersion: 'TLSv1.2',
      // the server's name is checked by the mesh identity, not by DNS name
      checkServerIdentity: () => undefined,
    })
    const timer = setTimeout(() => finish(false), o.timeoutMs ?? 3000)
    const finish = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ handshake, answer, error, closed, peer, session, resumed })
    }
    socket.on('secureConnect', () => {
      handshake = true
      peer = socket.getPeerCertificate()
      resumed = socket.isSessionReused()
      socket.write(request(o.host ?? o.servername, o.path ?? '/'))
    })
    socket.on('session', (s: Buffer) => (session = s))
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message))
    socket.on('close', () => finish(true))
  })
}

/** One plaintext HTTP request to 127.0.0.1:port; what came back before the server closed (or the timeout). */
export function plainAttempt(port: number, host: string, timeoutMs = 3000): Promise<Attempt> {
  return new Promise((resolve) => {
    let answer = ''
    let error: string | undefined
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request(host, '/')))
    const timer = setTimeout(() => finish(false), timeoutMs)
    const finish = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ handshake: false, answer, error, closed, peer: undefined })
    }
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message))
    socket.on('close', () => finish(true))
  })
}

/** Something an HTTP client could take for an answer. */
export const isHttpAnswer = (a: Attempt): boolean => /^HTTP\/\d/.test(a.answer)
