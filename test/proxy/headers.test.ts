import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import { downstreamResponseHeaders, hostWithoutPort, upstreamRequestHeaders } from '../../src/proxy/headers.js'
import { RequestIds } from '../../src/proxy/request-id.js'
import { json, request, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, type TestSidecar } from '../helpers/sidecar.js'

t.test('upstream request headers: hop-by-hop out, forwarding in, request id kept or made', async (t) => {
  const raw = [
    'Host', 'app:8080',
    'Connection', 'keep-alive, X-Secret',
    'X-Secret', 's',
    'Keep-Alive', 'timeout=5',
    'TE', 'trailers',
    'Trailer', 'x',
    'Transfer-Encoding', 'chunked',
    'Proxy-Authorization', 'Basic x',
    'Expect', '100-continue',
    'X-Forwarded-For', '10.0.0.1',
    'traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'Cookie', 'a=1',
  ]
  const h = upstreamRequestHeaders(raw, '127.0.0.1', 'http', () => 'id-1')
  const names = h.headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
  for (const gone of ['connection', 'x-secret', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'proxy-authorization', 'expect']) {
    t.notOk(names.includes(gone), `${gone} removed`)
  }
  const get = (n: string) => h.headers[h.headers.findIndex((x, i) => i % 2 === 0 && x.toLowerCase() === n) + 1]
  t.equal(get('x-forwarded-for'), '10.0.0.1, 127.0.0.1', 'client address appended')
  t.equal(get('x-forwarded-proto'), 'http')
  t.equal(get('x-forwarded-host'), 'app:8080')
  t.equal(get('host'), 'app:8080')
  t.equal(get('traceparent'), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
  t.equal(h.requestId, 'id-1')
  t.equal(get('x-request-id'), 'id-1')
  t.equal(h.chunked, true)
  t.equal(h.contentLength, -1)

  const kept = upstreamRequestHeaders(['x-request-id', 'mine', 'Content-Length', '5', 'X-Forwarded-Proto', 'https'], '::1', 'http', () => 'never')
  t.equal(kept.requestId, 'mine')
  t.equal(kept.contentLength, 5)
  t.equal(kept.headers.filter((x) => x === 'x-request-id').length, 1)
  t.notOk(kept.headers.includes('http'), 'an existing x-forwarded-proto is kept')
})

t.test('downstream response headers: hop-by-hop out (in place), Set-Cookie kept', async (t) => {
  const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Internal', 'X-Internal', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Proxy-Authenticate', 'x']
  t.same(downstreamResponseHeaders(raw), ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'])
  const node = ['Content-Length', '2', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Date', 'x']
  const out = downstreamResponseHeaders(node)
  t.equal(out, node, 'the same array')
  t.same(out, ['Content-Length', '2', 'Date', 'x'])
  const clean = ['content-type', 'x', 'etag', '"1"']
  t.same(downstreamResponseHeaders(clean), ['content-type', 'x', 'etag', '"1"'])
})

t.test('host without port', async (t) => {
  t.equal(hostWithoutPort('Payments:80'), 'payments')
  t.equal(hostWithoutPort('[::1]:8080'), '[::1]')
  t.equal(hostWithoutPort(undefined), '')
})

t.test('request ids: process prefix plus counter', async (t) => {
  const ids = new RequestIds('abc')
  t.equal(ids.next(), 'abc-1')
  t.equal(ids.next(), 'abc-2')
  t.not(new RequestIds().prefix, new RequestIds().prefix, 'random prefixes differ')
})

/** An upstream speaking raw HTTP, to control hop-by-hop headers exactly. */
async function rawUpstream(response: string): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    let buf = ''
    s.on('data', (d) => {
      buf += d.toString('latin1')
      if (buf.includes('\r\n\r\n')) {
        requests.push(buf)
        buf = ''
        s.write(response)
      }
    })
    s.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

t.test('through the sidecar', async (t) => {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => {
      switch (req.url) {
        case '/head':
          res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' }).end()
          return
        case '/304':
          res.writeHead(304, { etag: '"v1"' }).end()
          return
        case '/204':
          res.writeHead(204, { 'x-empty': 'yes' }).end()
          return
        case undefined:
        default:
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bodyBytes: n, headers: req.headers }))
      }
    })
  }
  const up = await startUpstream('h', handler)
  const rawUp = await rawUpstream(
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\n' +
      'Proxy-Authenticate: Basic\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\nSet-Cookie: c=3\r\nX-Kept: yes\r\n\r\nok',
  )
  const sc: TestSidecar = await startSidecar(
    oneListener(
      [
        { match: { pathPrefix: '/raw' }, service: 'raw' },
        { match: {}, service: 'h' },
      ],
      { h: { endpoints: [{ address: up.address }] }, raw: { endpoints: [{ address: `127.0.0.1:${rawUp.port}` }] } },
    ),
  )
  t.teardown(async () => {
    await sc.stop()
    await up.close()
    await rawUp.close()
  })

  await t.test('hop-by-hop request headers removed, forwarding headers added, traceparent passed', async (t) => {
    const r = await request(sc.port, {
      path: '/echo',
      headers: {
        host: 'app',
        connection: 'keep-alive, x-secret',
        'x-secret': 'do-not-forward',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic abc',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        tracestate: 'k=v',
        'x-forwarded-for': '10.1.1.1',
      },
    })
    t.equal(r.status, 200)
    const seen = (json(r).headers ?? {}) as Record<string, string>
    for (const h of ['x-secret', 'keep-alive', 'te', 'proxy-authorization']) t.equal(seen[h], undefined, `${h} not forwarded`)
    t.not(seen.connection, 'keep-alive, x-secret')
    t.equal(seen['x-forwarded-for'], '10.1.1.1, 127.0.0.1')
    t.equal(seen['x-forwarded-proto'], 'http')
    t.equal(seen['x-forwarded-host'], 'app')
    t.equal(seen.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
    t.equal(seen.tracestate, 'k=v')
    t.match(seen['x-request-id'], /^test-/, 'request id generated')
  })

  await t.test('an incoming x-request-id is passed on and used in errors and the log', async (t) => {
    const r = await request(sc.port, { path: '/echo', headers: { 'x-request-id': 'abc-123' } })
    t.equal((json(r).headers as Record<string, string>)['x-request-id'], 'abc-123')
    t.ok(sc.access.some((l) => l.requestId === 'abc-123'))
  })

  await t.test('hop-by-hop response headers removed; every Set-Cookie kept', async (t) => {
    const r = await request(sc.port, { path: '/raw' })
    t.equal(r.status, 200)
    t.equal(r.body, 'ok')
    t.equal(r.headers['x-internal'], undefined, 'header named in Connection removed')
    t.equal(r.headers['proxy-authenticate'], undefined)
    t.not(r.headers['keep-alive'], 'timeout=5')
    t.same(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly', 'c=3'])
    t.equal(r.headers['x-kept'], 'yes')
    t.notMatch(rawUp.requests[0], /\r\nexpect:/i)
  })

  await t.test('HEAD, 304 and 204 have no body and the connection stays usable', async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    t.teardown(() => agent.destroy())
    const get = (method: string, path: string) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request({ port: sc.port, host: '127.0.0.1', method, path, agent }, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
        })
        req.on('error', reject)
        req.end()
      })
    const head = await get('HEAD', '/head')
    t.equal(head.status, 200)
    t.equal(head.headers['content-length'], '1234', 'HEAD keeps the content length')
    t.equal(head.body, '')
    const notModified = await get('GET', '/304')
    t.equal(notModified.status, 304)
    t.equal(notModified.headers.etag, '"v1"')
    t.equal(notModified.body, '')
    const noContent = await get('GET', '/204')
    t.equal(noContent.status, 204)
    t.equal(noContent.headers['x-empty'], 'yes')
    const after = await get('GET', '/echo')
    t.equal(after.status, 200, 'the same kept-alive connection still works')
  })

  await t.test('chunked upload streams through', async (t) => {
    const reply = await new Promise<string>((resolve, reject) => {
      const req = http.request({ port: sc.port, host: '127.0.0.1', method: 'POST', path: '/upload', agent: false }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve(body))
      })
      req.on('error', reject)
      for (let i = 0; i < 10; i++) req.write(Buffer.alloc(1000, i))
      req.end()
    })
    const body = JSON.parse(reply) as { bodyBytes: number; headers: Record<string, string> }
    t.equal(body.bodyBytes, 10_000)
    // a body that has fully arrived may be sent with a Content-Length instead of chunks
    t.ok(body.headers['transfer-encoding'] === 'chunked' || body.headers['content-length'] === '10000', 'framed correctly')
  })

  await t.test('Expect: 100-continue is answered by the sidecar; without a route no 100 is sent', async (t) => {
    const send = (path: string, host: string) =>
      new Promise<{ continued: boolean; status: number; body: string }>((resolve, reject) => {
        let continued = false
        const req = http.request({
          port: sc.port,
          host: '127.0.0.1',
          method: 'PUT',
          path,
          agent: false,
          headers: { expect: '100-continue', 'content-length': '5', host },
        })
        req.on('continue', () => {
          continued = true
          req.end('hello')
        })
        req.on('response', (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.on('end', () => resolve({ continued, status: res.statusCode!, body }))
          if (!continued) req.destroy()
        })
        req.on('error', (e) => (continued ? reject(e) : undefined))
      })
    const ok = await send('/put', 'app')
    t.ok(ok.continued, '100 Continue received')
    t.equal(ok.status, 200)
    const body = JSON.parse(ok.body) as { bodyBytes: number; headers: Record<string, string> }
    t.equal(body.bodyBytes, 5)
    t.equal(body.headers.expect, undefined, 'Expect is not forwarded')

    const sc2 = await startSidecar(oneListener([{ match: { host: 'only' }, service: 'h' }], { h: { endpoints: [{ address: up.address }] } }))
    t.teardown(() => sc2.stop())
    const none = await new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
      let continued = false
      const req = http.request({ port: sc2.port, host: '127.0.0.1', method: 'PUT', path: '/', agent: false, headers: { expect: '100-continue', 'content-length': '5', host: 'other' } })
      req.on('continue', () => (continued = true))
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => resolve({ continued, status: res.statusCode! }))
      })
      req.on('error', reject)
    })
    t.equal(none.status, 404)
    t.notOk(none.continued, 'no 100 for a request that has nowhere to go')
  })

  await t.test('a malformed request gets a 400 JSON answer and the sidecar keeps serving', async (t) => {
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(sc.port, '127.0.0.1', () => s.write('GARBAGE\r\n\r\n'))
      let buf = ''
      s.on('data', (d) => (buf += d.toString()))
      s.on('close', () => resolve(buf))
      s.on('error', () => {})
    })
    t.match(answer, /^HTTP\/1\.1 400 /)
    t.match(answer, /COMMY_ERR_BAD_REQUEST/)
    const big = await new Promise<string>((resolve) => {
      const s = net.connect(sc.port, '127.0.0.1', () => s.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`))
      let buf = ''
      s.on('data', (d) => (buf += d.toString()))
      s.on('close', () => resolve(buf))
      s.on('error', () => resolve(buf))
    })
    t.match(big, /^HTTP\/1\.1 431 /, 'headers over limits.maxHeaderSize: 431')
    t.match(big, /COMMY_ERR_HEADERS_TOO_LARGE/)
    t.equal((await request(sc.port, { path: '/echo' })).status, 200)
  })
})
