/**
 * A bare undici forwarder using `pool.dispatch` with a handler object (the API commy's transport
 * uses): no routing, no header rewriting, no logging — the ceiling for a Node forwarder.
 */
import http from 'node:http'
import { Pool } from 'undici'
import { announce, forwarderArgs } from './args.js'

const { port, targets } = forwarderArgs(process.argv.slice(2))
const pools = targets.map((t) => new Pool(`http://${t.host}:${t.port}`, { connections: 128, pipelining: 1 }))
let next = 0

class Handler {
  private resume: (() => void) | null = null
  constructor(private readonly res: http.ServerResponse) {}
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    this.resume = resume
    const headers: string[] = []
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1')
      const lower = name.toLowerCase()
      if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding') continue
      headers.push(name, raw[i + 1]!.toString('latin1'))
    }
    this.res.writeHead(status, headers)
    return true
  }
  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true
    this.res.once('drain', () => this.resume?.())
    return false
  }
  onComplete(): void {
    this.res.end()
  }
  onError(): void {
    if (!this.res.headersSent) this.res.writeHead(502)
    this.res.end()
  }
}

const server = http.createServer((req, res) => {
  const pool = pools[next++ % pools.length]!
  const headers: string[] = []
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase()
    if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding') continue
    headers.push(raw[i]!, raw[i + 1]!)
  }
  pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, new Handler(res))
})
server.listen(port, '127.0.0.1', () => announce((server.address() as { port: number }).port))
process.on('SIGTERM', () => process.exit(0))
