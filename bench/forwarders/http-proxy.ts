/**
 * Baseline: a plain http-proxy forwarder, as people write it — one http server, proxy.web() to
 * the targets in turn, with a keep-alive agent (without one every request opens a connection,
 * which would make the comparison meaningless).
 */
import http from 'node:http'
import httpProxy from 'http-proxy'
import { announce, forwarderArgs } from './args.js'

const { port, targets } = forwarderArgs(process.argv.slice(2))
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 })
const proxy = httpProxy.createProxyServer({ agent, xfwd: true })
proxy.on('error', (_err, _req, res) => {
  const r = res as http.ServerResponse
  if (!r.headersSent && typeof r.writeHead === 'function') r.writeHead(502).end()
  else r.destroy?.()
})
const urls = targets.map((t) => `http://${t.host}:${t.port}`)
let next = 0
const server = http.createServer((req, res) => {
  const target = urls[next++ % urls.length]!
  proxy.web(req, res, { target })
})
server.listen(port, '127.0.0.1', () => announce((server.address() as { port: number }).port))
process.on('SIGTERM', () => process.exit(0))
