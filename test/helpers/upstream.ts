/**
 * Loopback upstreams for data-plane tests: real node:http servers on 127.0.0.1, port 0,
 * recording what they received. `close()` closes every connection.
 */
import http, { type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import net from 'node:net'

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly rawHeaders: string[]
  bodyBytes: number
}

export interface Upstream {
  readonly server: Server
  readonly port: number
  /** `127.0.0.1:port` */
  readonly address: string
  readonly name: string
  readonly seen: SeenRequest[]
  close(): Promise<void>
}

export type Handler = (req: IncomingMessage, res: ServerResponse, up: Upstream) => void

/** Answers `{"upstream": name, "method", "url"}` after reading the whole body. */
export const echoHandler: Handler = (req, res, up) => {
  let n = 0
  req.on('data', (c: Buffer) => (n += c.length))
  req.on('end', () => {
    const body = JSON.stringify({ upstream: up.name, method: req.method, url: req.url, bodyBytes: n })
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': up.name }).end(body)
  })
}

export async function startUpstream(name = 'up', handler: Handler = echoHandler): Promise<Upstream> {
  const seen: SeenRequest[] = []
  const server = http.createServer((req, res) => {
    const s: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0 }
    seen.push(s)
    req.on('data', (c: Buffer) => (s.bodyBytes += c.length))
    handler(req, res, up)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const up: Upstream = {
    server,
    port,
    address: `127.0.0.1:${port}`,
    name,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  return up
}

/** A loopback port with nothing listening (connections are refused). */
export async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly rawHeaders: string[]
  readonly body: string
}

export interface RequestOptions {
  readonly method?: string
  readonly path?: string
  readonly headers?: http.OutgoingHttpHeaders | string[]
  readonly body?: string | Buffer
  /** Give up after this many ms (the test fails rather than hangs). */
  readonly timeoutMs?: number
}

/** One request on a fresh connection (no agent, nothing left open). */
export function request(port: number, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }))
        res.on('error', reject)
      },
    )
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error('request timed out in test')))
    req.on('error', reject)
    req.end(options.body)
  })
}

export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body) as Record<string, unknown>
}
