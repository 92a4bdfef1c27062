/**
 * A tiny echo service for the demo: answers every request with JSON describing it (service
 * name, method, path, the headers commy added, body size). `/health` answers 200 `ok`.
 * Failure knobs (knobs.ts): `POST /fail?rate=0.5` answers 503 to that share of requests,
 * `POST /slow?ms=300` delays every answer; `rate=0` and `ms=0` heal.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Startable } from '../lifecycle.js'
import { failsNow, isKnob, turnKnob, type KnobState } from './knobs.js'

export interface EchoOptions {
  /** Randomness of the failure knob (default Math.random). */
  readonly random?: () => number
}

export class EchoService implements Startable {
  readonly name: string
  private readonly server: Server
  private readonly host: string
  private readonly wantedPort: number
  private bound = 0
  /** The failure knobs now set. */
  readonly knobs: KnobState = { failRate: 0, failHealth: false, slowMs: 0 }
  private readonly random: () => number
  private readonly delays = new Set<NodeJS.Timeout>()

  constructor(name: string, host: string, port: number, options: EchoOptions = {}) {
    this.name = name
    this.host = host
    this.wantedPort = port
    this.random = options.random ?? Math.random
    this.server = http.createServer((req, res) => {
      let size = 0
      req.on('data', (c: Buffer) => (size += c.length))
      req.on('end', () => this.answer(req, res, size))
    })
  }

  private answer(req: IncomingMessage, res: ServerResponse, size: number): void {
    const url = new URL(req.url ?? '/', 'http://echo.invalid')
    if (isKnob(url.pathname)) {
      if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST to turn a knob\n')
      const r = turnKnob(this.knobs, url.pathname, url.searchParams)
      res.writeHead(r.ok ? 200 : 400, { 'content-type': 'application/json' }).end(`${JSON.stringify(r.ok ? { service: this.name, ...r.state } : { error: r.error })}\n`)
      return
    }
    const send = () => this.reply(req, res, size, url.pathname === '/health')
    if (this.knobs.slowMs === 0) return send()
    const timer = setTimeout(() => {
      this.delays.delete(timer)
      send()
    }, this.knobs.slowMs)
    this.delays.add(timer)
  }

  private reply(req: IncomingMessage, res: ServerResponse, size: number, isHealth: boolean): void {
    if (failsNow(this.knobs, isHealth, this.random)) {
      res.writeHead(503, { 'content-type': 'application/json', 'x-served-by': `${this.name}@${this.port}` }).end(`${JSON.stringify({ service: this.name, error: 'failing on purpose (POST /fail?rate=0 heals)' })}\n`)
      return
    }
    if (isHealth) {
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
    for (const t of this.delays) clearTimeout(t)
    this.delays.clear()
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve()
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}
