/**
 * A bare undici forwarder using `pool.request` (promise + a Readable body piped to the client),
 * measured against `undici-dispatch` to choose the transport's API.
 */
import http from 'node:http'
import { pipeline } from 'node:stream'
import { Pool } from 'undici'
import { announce, forwarderArgs } from './args.js'

const { port, targets } = forwarderArgs(process.argv.slice(2))
const pools = targets.map((t) => new Pool(`http://${t.host}:${t.port}`, { connections: 128, pipelining: 1 }))
let next = 0

const server = http.createServer((req, res) => {
  const pool = pools[next++ % pools.length]!
  const headers: string[] = []
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase()
    if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding') continue
    headers.push(raw[i]!, raw[i + 1]!)
  }
  pool
    .request({ path: req.url ?? '/', method: req.method ?? 'GET', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
    .then(
      (up) => {
        const out: Record<string, string | string[]> = {}
        for (const [k, v] of Object.entries(up.headers)) {
          if (k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding' || v === undefined) continue
          out[k] = v
        }
        res.writeHead(up.statusCode, out)
        pipeline(up.body, res, () => {})
      },
      () => {
        if (!res.headersSent) res.writeHead(502)
        res.end()
      },
    )
})
server.listen(port, '127.0.0.1', () => announce((server.address() as { port: number }).port))
process.on('SIGTERM', () => process.exit(0))
