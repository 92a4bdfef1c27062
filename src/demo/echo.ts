/**
 * A tiny echo service for the demo: answers every request with JSON describing it (service
 * name, method, path, the headers commy added, body size). `/health` answers 200 `ok`.
 */
import http, { type Server } from 'node:http'
import type { Startable } from '../lifecycle.js'

export class EchoService implements Startable {
  readonly name: string
  private readonly server: Server
  private readonly host: string
  private readonly wantedPort: number
  private bound = 0

  constructor(name: string, host: string, port: number) {
    this.name = name
    this.host = host
    this.wantedPort = port
    this.server = http.createServer((req, res) => {
      let size = 0
      req.on('data', (c: Buffer) => (size += c.length))
      req.on('end', () => {
        if (req.url === '/health') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
          return
        }
        const body = JSON.stringify(
          {
            service: this.name,
            method: req.method,
            path: req.url,
            bodyBytes: size,
            headers: {
              host: req.headers.host,
              'x-request-id': req.headers['x-request-id'],
              'x-forwarded-for': req.headers['x-forwarded-for'],
              'x-forwarded-host': req.headers['x-forwarded-host'],
              traceparent: req.headers.traceparent,
            },
          },
          null,
          2,
        )
        res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': `${this.name}@${this.port}` }).end(`${body}\n`)
      })
    })
  }

  get port(): number {
    return this.bound
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.wantedPort, this.host, () => {
        this.server.off('error', reject)
        const a = this.server.address()
        this.bound = typeof a === 'object' && a !== null ? a.port : this.wantedPort
        resolve()
      })
    })
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve()
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}
