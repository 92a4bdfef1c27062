/**
 * The inbound mTLS listener against a plain outbound listener of the same sidecar, in one run:
 * keep-alive req/s and CPU per request (client -> listener -> loopback app), and new-connection
 * mTLS handshakes per second (each: handshake + one request). Everything runs in this process,
 * so CPU includes client and app: compare the ratio, not the absolute figures.
 * Prints one JSON summary line last.
 * Run: `node --import ./test/setup/ts-loader.mjs bench/inbound.ts` (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS; BENCH_ONLY=plain|mtls runs one scenario, e.g. under --cpu-prof).
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import pino from 'pino'
import { Pool } from 'undici'
import { parseConfig } from '../src/config/load.js'
import { Sidecar } from '../src/sidecar.js'
import { makeCa, makeLeaf, StaticCredentials } from '../test/helpers/pki.js'
import { machine } from './lib/machine.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

interface Rate {
  readonly rps: number
  readonly cpuUsPerReq: number
}

const bestOf = (rs: readonly Rate[]): Rate => ({ rps: Math.max(...rs.map((r) => r.rps)), cpuUsPerReq: Math.min(...rs.map((r) => r.cpuUsPerReq)) })

async function main(): Promise<void> {
  const app = http.createServer((_req, res) => res.end('ok'))
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
  const appAddress = `127.0.0.1:${(app.address() as AddressInfo).port}`
  const ca = await makeCa()
  const [node, caller] = await Promise.all([makeLeaf(ca, { service: 'users' }), makeLeaf(ca, { service: 'payments' })])
  const config = parseConfig(
    JSON.stringify({
      listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 'users' }] }],
      services: { users: { endpoints: [{ address: appAddress }], breaker: { enabled: false }, outlierDetection: { enabled: false } } },
      log: { level: 'silent', accessLog: false },
      tls: { ca: '/unused', cert: '/unused', key: '/unused' },
      inbound: { listen: '127.0.0.1:0' },
      local: { services: [{ name: 'users', address: appAddress }] },
    }),
    'bench.yaml',
  )
  const logs = { logger: pino({ level: 'silent' }), access: undefined, dropped: () => 0, close: async () => {} }
  // contexts made once, as the TlsStore caches them (StaticCredentials makes one per call)
  const creds = new StaticCredentials({ ca: ca.cert, node })
  const serverContext = creds.serverContext()
  const credentials = { cluster: creds.cluster, ca: () => creds.ca(), clientContext: () => creds.clientContext(), serverContext: () => serverContext, onChange: () => () => {} }
  const sidecar = new Sidecar({ config, logs, credentials })
  await sidecar.start()
  const plainPort = sidecar.address('outbound').port
  const inboundPort = sidecar.inboundAddress()!.port

  const only = process.env.BENCH_ONLY
  if (only !== undefined) {
    // one scenario, for a profile (--cpu-prof): plain | mtls
    const pool = only === 'mtls' ? new Pool(`https://127.0.0.1:${inboundPort}`, { connections: CONNECTIONS, connect: { ca: ca.cert, cert: caller.cert, key: caller.key, servername: 'users', checkServerIdentity: () => undefined } })
      : new Pool(`http://127.0.0.1:${plainPort}`, { connections: CONNECTIONS })
    console.log(JSON.stringify({ bench: 'inbound', only, ...(await keepAlive(pool, 'users')) }))
    await sidecar.stop()
    await new Promise((r) => app.close(r))
    return
  }
  const mtlsPool = () =>
    new Pool(`https://127.0.0.1:${inboundPort}`, {
      connections: CONNECTIONS,
      connect: { ca: ca.cert, cert: caller.cert, key: caller.key, servername: 'users', checkServerIdentity: () => undefined },
    })
  // interleaved rounds, the best of each (the machine is noisy)
  const runs: { plain: Rate[]; mtls: Rate[] } = { plain: [], mtls: [] }
  for (let round = 0; round < ROUNDS; round++) {
    runs.plain.push(await keepAlive(new Pool(`http://127.0.0.1:${plainPort}`, { connections: CONNECTIONS }), 'users'))
    runs.mtls.push(await keepAlive(mtlsPool(), 'users'))
  }
  const plain = bestOf(runs.plain)
  const mtls = bestOf(runs.mtls)
  const handshakes = await newConnections(inboundPort, ca.cert, caller)
  // Node's own cost of TLS, without commy: a bare https server (client certificates required) vs a bare http one
  const bareHttps = https.createServer({ cert: node.cert, key: node.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('ok'))
  await new Promise<void>((r) => bareHttps.listen(0, '127.0.0.1', r))
  const bareTls = await keepAlive(
    new Pool(`https://127.0.0.1:${(bareHttps.address() as AddressInfo).port}`, { connections: CONNECTIONS, connect: { ca: ca.cert, cert: caller.cert, key: caller.key, servername: 'users', checkServerIdentity: () => undefined } }),
    'users',
  )
  const bare = await keepAlive(new Pool(`http://${appAddress}`, { connections: CONNECTIONS }), 'users')
  bareHttps.close()
  await sidecar.stop()
  await new Promise((r) => app.close(r))

  const summary = {
    bench: 'inbound',
    ...machine(),
    seconds: SECONDS,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    plain,
    mtls,
    ratio: Number((mtls.rps / plain.rps).toFixed(3)),
    cpuRatio: Number((mtls.cpuUsPerReq / plain.cpuUsPerReq).toFixed(3)),
    handshakesPerSecond: handshakes,
    bareNode: { http: bare, https: bareTls, ratio: Number((bareTls.rps / bare.rps).toFixed(3)), cpuRatio: Number((bareTls.cpuUsPerReq / bare.cpuUsPerReq).toFixed(3)) },
  }
  console.log(JSON.stringify(summary))
}

/** Keep-alive load for SECONDS: req/s and process CPU µs per request. */
async function keepAlive(pool: Pool, host: string): Promise<Rate> {
  const one = async () => {
    const r = await pool.request({ path: '/', method: 'GET', headers: { host } })
    await r.body.text()
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`)
  }
  for (let i = 0; i < 200; i++) await one() // warm up
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  const end = start + SECONDS * 1000
  let n = 0
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        await one()
        n++
      }
    }),
  )
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  await pool.close()
  return { rps: Math.round(n / (ms / 1000)), cpuUsPerReq: Number(((cpu.user + cpu.system) / n).toFixed(1)) }
}

/** New mTLS connections (handshake + one request, Connection: close), 8 at a time, for SECONDS / 2. */
async function newConnections(port: number, ca: string, client: { cert: string; key: string }): Promise<number> {
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca, cert: client.cert, key: client.key, servername: 'users', checkServerIdentity: () => undefined }, () =>
        s.write('GET / HTTP/1.1\r\nHost: users\r\nConnection: close\r\n\r\n'),
      )
      s.on('data', () => {})
      s.on('error', reject)
      s.on('close', () => resolve())
    })
  const start = performance.now()
  const end = start + (SECONDS * 1000) / 2
  let n = 0
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (performance.now() < end) {
        await one()
        n++
      }
    }),
  )
  return Math.round(n / ((performance.now() - start) / 1000))
}

void main()
