/**
 * A small node:http2 client for tests: one session (one connection) to a port, requests with
 * their status, headers and body collected.
 */
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'

export interface H2Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export function h2connect(port: number, options: http2.ClientSessionOptions = {}): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`, options)
    s.once('connect', () => {
      s.off('error', reject)
      s.on('error', () => {})
      resolve(s)
    })
    s.once('error', reject)
  })
}

/** One request on `session`; rejects on a stream error (reset, GOAWAY before it started). */
export function h2request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':authority': 'svc', ...headers }, { endStream: body === undefined })
    let status = 0
    let got: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    stream.on('response', (h) => {
      status = Number(h[':status'])
      got = h
    })
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => resolve({ status, headers: got, body: Buffer.concat(chunks).toString() }))
    stream.on('error', reject)
    stream.on('close', () => {
      if (status === 0) reject(new Error(`stream closed without a response (rstCode ${stream.rstCode})`))
    })
    if (body !== undefined) stream.end(body)
  })
}

export function h2close(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    if (session.destroyed) return resolve()
    session.once('close', () => resolve())
    // (close() does nothing on a session that is closing already, e.g. after a GOAWAY)
    if (!session.closed) session.close()
    setTimeout(() => session.destroy(), 1000).unref()
  })
}

/** The reply's body as JSON. */
export function h2json(reply: H2Reply): Record<string, unknown> {
  return JSON.parse(reply.body) as Record<string, unknown>
}
