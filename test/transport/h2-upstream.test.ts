/**
 * HTTP/2 to endpoints (`services.<name>.protocol: http2`) through a real Runtime: an HTTP/1.1
 * client to an h2c upstream with bodies and trailers both ways, streams multiplexed on one
 * connection with the concurrency bound kept, ALPN h2 over TLS, GOAWAY retried when the stream
 * was never processed, Unix socket endpoints (http1 and http2), and gRPC to an http1 service
 * refused (config) or answered 502 (run time).
 */
import t from 'tap'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { WebSocket, WebSocketServer } from 'ws'
import * as grpc from '@grpc/grpc-js'
import { startRuntime, until } from '../helpers/runtime.js'
import { makeCa, makeLeaf, StaticCredentials } from '../helpers/pki.js'
import { UndiciTransport } from '../../src/transport/undici.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import { removeTempDir, tempDir } from '../helpers/temp.js'
import { parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { h2RequestHeaders } from '../../src/transport/h2-exchange.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }
const listener = (service = 'svc', match: Record<string, unknown> = {}) => [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match, service }] }]

interface H2Upstream {
  readonly server: http2.Http2Server | http2.Http2SecureServer
  readonly address: string
  /** Sessions accepted, streams at once (highest seen), streams seen. */
  readonly stats: { sessions: number; active: number; maxActive: number; streams: number }
  close(): Promise<void>
}

type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void

async function startH2(handler: StreamHandler, opts: { secure?: { key: string; cert: string }; path?: string } = {}): Promise<H2Upstream> {
  const server = opts.secure ? http2.createSecureServer({ key: opts.secure.key, cert: opts.secure.cert, allowHTTP1: true }) : http2.createServer()
  const stats = { sessions: 0, active: 0, maxActive: 0, streams: 0 }
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on('session', (s) => {
    stats.sessions++
    sessions.add(s)
    s.on('close', () => sessions.delete(s))
  })
  server.on('stream', (stream, headers) => {
    stats.streams++
    stats.active++
    stats.maxActive = Math.max(stats.maxActive, stats.active)
    stream.on('close', () => stats.active--)
    stream.on('error', () => {})
    handler(stream, headers, stream.session as http2.ServerHttp2Session)
  })
  await new Promise<void>((r) => (opts.path !== undefined ? server.listen(opts.path, r) : server.listen(0, '127.0.0.1', r)))
  const address = opts.path !== undefined ? `unix:${opts.path}` : `127.0.0.1:${(server.address() as net.AddressInfo).port}`
  return {
    server,
    address,
    stats,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy()
        server.close(() => r())
      }),
  }
}

/** Echoes the request (method, path, authority, headers, body, trailers) as JSON and sends trailers. */
const echo: StreamHandler = (stream, headers) => {
  const chunks: Buffer[] = []
  let trailers: http2.IncomingHttpHeaders | undefined
  stream.on('trailers', (h) => (trailers = h))
  stream.on('data', (c: Buffer) => chunks.push(c))
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' }, { waitForTrailers: true })
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': String(Buffer.concat(chunks).length), 'grpc-status': '0' }))
    stream.end(JSON.stringify({ headers, body: Buffer.concat(chunks).toString(), trailers: trailers ?? null }))
  })
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  trailers: NodeJS.Dict<string>
}

function send(port: number, o: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string; trailers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path ?? '/', headers: o.headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, trailers: res.trailers }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (o.trailers !== undefined) {
      req.write(o.body ?? '')
      req.addTrailers(o.trailers)
      req.end()
    } else req.end(o.body)
  })
}

t.test('HTTP/1.1 client -> h2c service: headers translated, bodies and trailers both ways', async (t) => {
  const up = await startH2(echo)
  const rt = await startRuntime({ health: NO_LAG, log: { accessLog: false }, listeners: listener(), services: { svc: { protocol: 'http2', endpoints: [{ address: up.address }] } } })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  const r = await send(rt.port, { method: 'POST', path: '/a/b?x=1', headers: { host: 'orders.example', 'x-custom': 'v', 'transfer-encoding': 'chunked', trailer: 'x-sum' }, body: 'hello', trailers: { 'x-sum': '5' } })
  t.equal(r.status, 200)
  const seen = JSON.parse(r.body) as { headers: Record<string, string>; body: string; trailers: Record<string, string> | null }
  t.equal(seen.headers[':method'], 'POST')
  t.equal(seen.headers[':path'], '/a/b?x=1')
  t.equal(seen.headers[':authority'], 'orders.example', 'Host became :authority')
  t.equal(seen.headers[':scheme'], 'http')
  t.equal(seen.headers['x-custom'], 'v')
  t.notOk('te' in seen.headers, 'no te unless gRPC')
  t.notOk('host' in seen.headers, 'no Host on HTTP/2')
  t.notOk('transfer-encoding' in seen.headers || 'connection' in seen.headers || 'keep-alive' in seen.headers, 'no connection-specific headers on HTTP/2')
  t.equal(seen.body, 'hello', 'request body')
  t.same(seen.trailers, { 'x-sum': '5' }, 'request trailers reached the HTTP/2 endpoint')
  t.equal(r.trailers['x-checksum'], '5', 'response trailers reached the HTTP/1.1 client (chunked)')
  t.equal(r.trailers['grpc-status'], '0')
  t.equal(r.headers['content-type'], 'application/json')

  const big = 'x'.repeat(300_000)
  const r2 = await send(rt.port, { method: 'PUT', body: big, headers: { 'content-length': String(big.length) } })
  t.equal((JSON.parse(r2.body) as { body: string }).body.length, big.length, 'a large body crosses with flow control')
  const r3 = await send(rt.port)
  t.equal(r3.status, 200, 'a request without a body')
})

t.test('backpressure: a client that does not read holds the HTTP/2 endpoint back', async (t) => {
  const TOTAL = 16 * 1024 * 1024
  const chunk = Buffer.alloc(64 * 1024, 'y')
  let written = 0
  const up = await startH2((stream) => {
    stream.respond({ ':status': 200 })
    const more = (): void => {
      while (written < TOTAL) {
        written += chunk.length
        if (!stream.write(chunk)) {
          stream.once('drain', more)
          return
        }
      }
      stream.end()
    }
    more()
  })
  const rt = await startRuntime({ health: NO_LAG, log: { accessLog: false }, listeners: listener(), services: { svc: { protocol: 'http2', endpoints: [{ address: up.address }] } } })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  const received = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: rt.port, path: '/', agent: false }, (res) => {
      res.pause()
      setTimeout(() => {
        t.ok(written < TOTAL / 2, `the endpoint wrote ${written} of ${TOTAL} bytes while the client read nothing`)
        let n = 0
        res.on('data', (c: Buffer) => (n += c.length))
        res.on('end', () => resolve(n))
        res.resume()
      }, 500)
    }).on('error', reject)
  })
  t.equal(received, TOTAL, 'then everything arrives')
})

t.test('a reload that changes protocol: new requests use the new one', async (t) => {
  const h1 = http.createServer((req, res) => {
    req.resume()
    res.end(`http/${req.httpVersion}`)
  })
  // one address speaking both (told apart by the connection preface)
  const h2 = http2.createServer()
  h2.on('stream', (stream) => {
    stream.respond({ ':status': 200 })
    stream.end('http/2.0')
  })
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r))
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r))
  const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port
  const front = net.createServer((sock) => {
    sock.on('error', () => {})
    sock.once('data', (d: Buffer) => {
      const back = net.connect(portOf(d.toString('latin1').startsWith('PRI * HTTP/2.0') ? h2 : h1), '127.0.0.1')
      back.on('error', () => sock.destroy())
      back.write(d)
      sock.pipe(back).pipe(sock)
    })
  })
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r))
  const address = `127.0.0.1:${(front.address() as net.AddressInfo).port}`
  const doc = (protocol: string) => ({ admin: { listen: '127.0.0.1:0' }, health: NO_LAG, log: { accessLog: false }, listeners: listener(), services: { svc: { protocol, endpoints: [{ address }] } } })
  const rt = await startRuntime(doc('http1'))
  t.teardown(async () => {
    await rt.stop()
    h1.closeAllConnections()
    await new Promise((r) => front.close(r))
    await new Promise((r) => h1.close(r))
    await new Promise((r) => h2.close(r))
  })
  t.equal((await send(rt.port)).body, 'http/1.1')
  await rt.runtime.sidecar.reload(parseConfig(JSON.stringify(doc('http2')), 'test.yaml'))
  t.equal((await send(rt.port)).body, 'http/2.0', 'after the reload: HTTP/2')
})

t.test('h2c pool: streams multiplexed on one connection, bounded by maxConcurrentStreams', async (t) => {
  const held: http2.ServerHttp2Stream[] = []
  const up = await startH2((stream) => {
    held.push(stream)
    stream.on('data', () => {})
  })
  const release = () => {
    for (const s of held.splice(0)) if (!s.closed) s.respond({ ':status': 200 }, { endStream: true })
  }
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener(),
    services: { svc: { protocol: 'http2', endpoints: [{ address: up.address }], upstream: { connections: 2, maxConcurrentStreams: 4 } } },
  })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  const replies = Array.from({ length: 12 }, () => send(rt.port, { method: 'POST', body: 'x' }))
  t.ok(await until(() => up.stats.active === 8), '8 streams at once: 2 connections x 4 streams')
  await new Promise((r) => setTimeout(r, 100))
  t.equal(up.stats.active, 8, 'the rest wait for a free stream')
  t.equal(up.stats.sessions, 2, 'no more connections than upstream.connections')
  const timer = setInterval(release, 20)
  const statuses = (await Promise.all(replies)).map((r) => r.status)
  clearInterval(timer)
  t.same(statuses, Array(12).fill(200) as number[], 'every waiting request went out as streams freed up')
  t.equal(up.stats.maxActive, 8)
  t.equal(up.stats.sessions, 2)
})

t.test('one connection carries many concurrent streams (default 100)', async (t) => {
  const up = await startH2((stream) => {
    stream.on('data', () => {})
    setTimeout(() => !stream.closed && stream.respond({ ':status': 200 }, { endStream: true }), 150)
  })
  const rt = await startRuntime({ health: NO_LAG, log: { accessLog: false }, listeners: listener(), services: { svc: { protocol: 'http2', endpoints: [{ address: up.address }] } } })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  const statuses = (await Promise.all(Array.from({ length: 30 }, () => send(rt.port)))).map((r) => r.status)
  t.same(statuses, Array(30).fill(200) as number[])
  t.equal(up.stats.sessions, 1, 'one HTTP/2 connection')
  t.ok(up.stats.maxActive >= 20, `streams at once on it: ${up.stats.maxActive}`)
})

/** An HTTP/2 frame: 9-byte header and payload. */
function frame(type: number, flags: number, id: number, payload = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9)
  h.writeUIntBE(payload.length, 0, 3)
  h[3] = type
  h[4] = flags
  h.writeUInt32BE(id, 5)
  return Buffer.concat([h, payload])
}

/**
 * A raw HTTP/2 front: its first connection answers the first HEADERS frame with GOAWAY (last
 * stream id 0, NO_ERROR: nothing was processed) and closes; later connections are piped to `to`.
 */
async function goawayFront(to: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    if (n++ > 0) {
      const back = net.connect(to, '127.0.0.1')
      back.on('error', () => sock.destroy())
      sock.pipe(back).pipe(sock)
      return
    }
    sock.write(frame(4, 0, 0)) // SETTINGS
    let buf = Buffer.alloc(0)
    let preface = false
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (!preface) {
        if (buf.length < 24) return
        buf = buf.subarray(24)
        preface = true
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3)
        const type = buf[3]
        if (buf.length < 9 + len) return
        buf = buf.subarray(9 + len)
        if (type === 1) {
          sock.write(frame(7, 0, 0, Buffer.alloc(8))) // GOAWAY last-stream-id 0, NO_ERROR
          setTimeout(() => sock.end(), 20)
        }
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => n,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

t.test('GOAWAY: a stream the endpoint never processed is tried again (even a POST, attempts: 1)', async (t) => {
  const up = await startH2((stream) => {
    stream.on('data', () => {})
    stream.respond({ ':status': 200 })
    stream.end('second connection')
  })
  const front = await goawayFront(Number(up.address.split(':')[1]))
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 'svc', retries: { attempts: 1 } }] }],
    services: { svc: { protocol: 'http2', endpoints: [{ address: `127.0.0.1:${front.port}` }] } },
  })
  t.teardown(async () => {
    await rt.stop()
    await front.close()
    await up.close()
  })
  const r = await send(rt.port, { method: 'POST', body: 'payload' })
  t.equal(r.status, 200)
  t.equal(r.body, 'second connection')
  t.equal(front.connections(), 2, 'the retry went on a new connection')
  t.equal(up.stats.streams, 1, 'the endpoint processed the request once')
})

t.test('a used HTTP/2 connection that closes before any byte of the answer: a GET is tried again (the keep-alive race)', async (t) => {
  let n = 0
  const up = await startH2((stream, _h, session) => {
    if (++n === 2) {
      session.destroy() // no answer: the connection just goes away
      return
    }
    stream.respond({ ':status': 200 })
    stream.end(`answer ${n}`)
  })
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: {}, service: 'svc', retries: { attempts: 1 } }] }],
    services: { svc: { protocol: 'http2', endpoints: [{ address: up.address }] } },
  })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  t.equal((await send(rt.port)).body, 'answer 1')
  const r = await send(rt.port)
  t.equal(r.status, 200)
  t.equal(r.body, 'answer 3', 'tried again on a new connection')
  t.equal(up.stats.sessions, 2)
})

t.test('h2 request headers: pseudo-headers, repeated names, te only for gRPC', async (t) => {
  const h = h2RequestHeaders('POST', '/p.S/M', ['Host', 'a.example', 'X-A', '1', 'x-a', '2', 'Connection', 'keep-alive', 'Content-Type', 'application/grpc', 'Upgrade', 'h2c'], 'http', 'd:1')
  t.same(h, { ':method': 'POST', ':path': '/p.S/M', ':scheme': 'http', ':authority': 'a.example', 'x-a': ['1', '2'], 'content-type': 'application/grpc', te: 'trailers' })
  t.equal(h2RequestHeaders('GET', '/', [], 'https', 'd:1')[':authority'], 'd:1', 'no Host: the endpoint address')
})

t.test('an HTTP health check of an http2 service speaks h2c', async (t) => {
  let checks = 0
  const up = await startH2((stream, headers) => {
    if (headers[':path'] === '/healthz') checks++
    stream.respond({ ':status': 200 })
    stream.end('ok')
  })
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener(),
    services: { svc: { protocol: 'http2', endpoints: [{ address: up.address }], healthCheck: { http: { path: '/healthz' }, interval: '100ms', healthyThreshold: 1 } } },
  })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  const ep = rt.runtime.sidecar.registry.service('svc')!.snapshot.all[0]!
  t.ok(await until(() => ep.activeHealth === 'healthy'), 'healthy: the h2c-only endpoint answered the check')
  t.ok(checks > 0)
})

t.test('TLS endpoint: ALPN h2 (services.<name>.tls)', async (t) => {
  const dir = tempDir('h2-tls')
  const ca = await makeCa()
  const leaf = await makeLeaf(ca, { dnsNames: ['api.partner.example'] })
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, ca.cert)
  let alpn: string | false | undefined
  const up = await startH2(
    (stream, headers, session) => {
      alpn = session.alpnProtocol
      stream.respond({ ':status': 200 })
      stream.end(String(headers[':scheme']))
    },
    { secure: { key: leaf.key, cert: leaf.cert } },
  )
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener(),
    services: { svc: { protocol: 'http2', endpoints: [{ address: up.address }], tls: { ca: caFile, servername: 'api.partner.example' } } },
  })
  t.teardown(async () => {
    await rt.stop()
    await up.close()
    removeTempDir(dir)
  })
  const r = await send(rt.port)
  t.equal(r.status, 200)
  t.equal(r.body, 'https', ':scheme https')
  t.equal(alpn, 'h2', 'negotiated h2 by ALPN')
})

t.test('mesh endpoint (mTLS): ALPN h2, the identity checked, the caller presents its own', async (t) => {
  const ca = await makeCa()
  const users = await makeLeaf(ca, { service: 'users' })
  const payments = await makeLeaf(ca, { service: 'payments' })
  const server = http2.createSecureServer({ ca: ca.cert, cert: users.cert, key: users.key, requestCert: true, rejectUnauthorized: true })
  const seen: string[] = []
  server.on('stream', (stream) => {
    const sock = stream.session!.socket as import('node:tls').TLSSocket
    seen.push(`${String(sock.alpnProtocol)} ${String(sock.getPeerCertificate().subjectaltname)}`)
    stream.respond({ ':status': 200 })
    stream.end('over mTLS')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const tr = new UndiciTransport({
    upstreamOf: () => ({ connections: 1, connectTimeoutMs: 1000, keepAliveTimeoutMs: 1000, maxConcurrentStreams: 10 }),
    credentials: new StaticCredentials({ ca: ca.cert, node: payments }),
    protocolOf: () => 'http2',
  })
  t.teardown(async () => {
    await tr.destroy()
    await new Promise((r) => server.close(r))
  })
  const ep = new Endpoint('users', { host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [], mtls: true }, 'gossip', 1000)
  const attempt = {
    endpoint: ep,
    request: { method: 'GET', path: '/', headers: ['host', 'users'], body: null, requestId: 'r', service: 'users' },
    try: 1,
    timeoutMs: 0,
    signal: new AbortController().signal,
    setCanceller() {},
  }
  const res = await tr.send(attempt)
  t.equal(res.status, 200)
  const body = await new Promise<string>((resolve, reject) => {
    let b = ''
    res.body.pipe({ onData: (c) => ((b += c.toString()), true), onEnd: (last) => resolve(b + (last?.toString() ?? '')), onError: reject })
  })
  t.equal(body, 'over mTLS')
  t.match(seen[0], /^h2 URI:spiffe:\/\/commy\/service\/payments/, 'h2 by ALPN, the node identity presented')

  const impostor = await makeLeaf(ca, { service: 'other' })
  const bad = http2.createSecureServer({ ca: ca.cert, cert: impostor.cert, key: impostor.key, requestCert: true })
  bad.on('stream', (stream) => stream.respond({ ':status': 200 }, { endStream: true }))
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise((r) => bad.close(r)))
  const badEp = new Endpoint('users', { host: '127.0.0.1', port: (bad.address() as net.AddressInfo).port, weight: 1, zone: undefined, tags: [], mtls: true }, 'gossip', 1000)
  await t.rejects(tr.send({ ...attempt, endpoint: badEp }), { code: 'COMMY_ERR_UPSTREAM_IDENTITY' }, 'another identity: refused in the handshake')
})

t.test('Unix socket endpoints: http1 and http2', async (t) => {
  const dir = tempDir('h2-unix')
  const h1Path = join(dir, 'h1.sock')
  const h1 = http.createServer((req, res) => {
    req.resume()
    res.end(`h1 ${req.method} ${req.url}`)
  })
  await new Promise<void>((r) => h1.listen(h1Path, r))
  const h2 = await startH2(
    (stream, headers) => {
      stream.respond({ ':status': 200 })
      stream.end(`h2 ${String(headers[':path'])}`)
    },
    { path: join(dir, 'h2.sock') },
  )
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/one' }, service: 'one' }, { match: {}, service: 'two' }] }],
    services: {
      one: { endpoints: [{ address: `unix:${h1Path}` }], healthCheck: { tcp: {}, interval: '200ms' } },
      two: { protocol: 'http2', endpoints: [{ address: h2.address }] },
    },
  })
  t.teardown(async () => {
    await rt.stop()
    await h2.close()
    await new Promise((r) => h1.close(r))
    removeTempDir(dir)
  })
  const one = await send(rt.port, { path: '/one/x' })
  t.equal(one.body, 'h1 GET /one/x')
  const two = await send(rt.port, { path: '/two' })
  t.equal(two.body, 'h2 /two')
  const eps = rt.runtime.sidecar.registry.service('one')!.snapshot.all
  t.equal(eps[0]!.address, `unix:${h1Path}`, 'the endpoint shows unix:/path')
  t.ok(await until(() => eps[0]!.activeHealth === 'healthy'), 'a tcp health check reaches the socket')
  t.throws(
    () => parseConfig(JSON.stringify({ listeners: listener('one'), services: { one: { endpoints: [{ address: 'unix:/run/x.sock' }], healthCheck: { http: { path: '/' } } } } }), 'test.yaml'),
    { constructor: ConfigError, message: /healthCheck\.tcp only/ },
  )
})

t.test('WebSocket to an http2 service still goes over HTTP/1.1 (here to a Unix socket endpoint)', async (t) => {
  const dir = tempDir('h2-ws')
  const path = join(dir, 'ws.sock')
  const server = http.createServer((_req, res) => res.end('plain'))
  const wss = new WebSocketServer({ server })
  let version = ''
  wss.on('connection', (ws, req) => {
    version = req.httpVersion
    ws.on('message', (data) => ws.send(`echo:${(data as Buffer).toString()}`))
  })
  await new Promise<void>((r) => server.listen(path, r))
  const rt = await startRuntime({ health: NO_LAG, log: { accessLog: false }, listeners: listener(), services: { svc: { protocol: 'http2', endpoints: [{ address: `unix:${path}` }] } } })
  t.teardown(async () => {
    await rt.stop()
    wss.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    removeTempDir(dir)
  })
  const ws = new WebSocket(`ws://127.0.0.1:${rt.port}/chat`)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const echoed = new Promise<string>((r) => ws.once('message', (d) => r((d as Buffer).toString())))
  ws.send('hi')
  t.equal(await echoed, 'echo:hi')
  t.equal(version, '1.1', 'the upgrade went over HTTP/1.1')
  ws.close()
})

t.test('a grpc-js server as the http2 endpoint: a unary call from an HTTP/1.1 client, grpc-status in the trailers', async (t) => {
  const id = (b: Buffer): Buffer => b
  const server = new grpc.Server()
  const method = { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id }
  server.addService({ Echo: method }, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])),
  })
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: listener('svc', { headers: { 'content-type': 'application/grpc' } }),
    services: { svc: { protocol: 'http2', endpoints: [{ address: `127.0.0.1:${port}` }] } },
  })
  t.teardown(async () => {
    await rt.stop()
    server.forceShutdown()
  })
  const payload = Buffer.from('hi')
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, payload.length]), payload])
  const r = await send(rt.port, { method: 'POST', path: '/test.Echo/Echo', headers: { 'content-type': 'application/grpc', 'content-length': String(framed.length) }, body: framed.toString('latin1') })
  t.equal(r.status, 200)
  t.equal(r.headers['content-type'], 'application/grpc+proto')
  t.equal(r.body.slice(5), 'echo:hi', 'the framed answer')
  t.equal(r.trailers['grpc-status'], '0', 'grpc-status arrived as a trailer')
})

t.test('gRPC to an http1 service: refused by the config when the route can tell; 502 at run time', async (t) => {
  const grpcRoute = listener('svc', { headers: { 'content-type': 'application/grpc' } })
  t.throws(() => parseConfig(JSON.stringify({ listeners: grpcRoute, services: { svc: { endpoints: [{ address: '127.0.0.1:1' }] } } }), 'test.yaml'), {
    constructor: ConfigError,
    message: /matches gRPC requests.*protocol: http2/,
  })
  t.doesNotThrow(() => parseConfig(JSON.stringify({ listeners: grpcRoute, services: { svc: { protocol: 'http2', endpoints: [{ address: '127.0.0.1:1' }] } } }), 'test.yaml'))

  let reached = 0
  const h1 = http.createServer((req, res) => {
    reached++
    req.resume()
    res.end('ok')
  })
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r))
  const rt = await startRuntime({ health: NO_LAG, log: { accessLog: false }, listeners: listener(), services: { svc: { endpoints: [{ address: `127.0.0.1:${(h1.address() as net.AddressInfo).port}` }] } } })
  t.teardown(async () => {
    await rt.stop()
    await new Promise((r) => h1.close(r))
  })
  const r = await send(rt.port, { method: 'POST', path: '/pkg.Svc/Call', headers: { 'content-type': 'application/grpc+proto' }, body: 'x' })
  // a gRPC call gets commy's error as a gRPC error (proxy/grpc-errors.ts): trailers-only, UNIMPLEMENTED
  t.equal(r.status, 200)
  t.equal(r.headers['grpc-status'], '12')
  t.match(r.headers['grpc-message'], /COMMY_ERR_GRPC_OVER_HTTP1/)
  t.equal(reached, 0, 'never sent over HTTP/1.1')
  t.equal((await send(rt.port, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 200, 'other requests pass')
})
