/**
 * HTTP/1.1 and h2c (prior knowledge) on the same listener port; each HTTP/2 stream through the
 * same Forwarder -> Call path (routing on :authority/:path, balancing per stream), translated
 * to HTTP/1.1 for the upstream; commy's own errors as JSON on an h2 stream.
 */
import http2 from 'node:http2'
import t from 'tap'
import { echoHandler, request, json, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'
import type { RequestRecord } from '../../src/proxy/request-record.js'
import { h2close, h2connect, h2json, h2request } from '../helpers/h2-client.js'
import { RawH2, PREFACE, FrameType, Flag, headerBlock, headers, requestFields, settings } from '../helpers/h2-frames.js'

t.test('HTTP/1.1 and h2c on one port; the h2 request reaches the HTTP/1.1 upstream translated', async (t) => {
  const up = await startUpstream('a', (req, res, u) => {
    if (req.url === '/hop') {
      // hop-by-hop response fields must not reach an h2 client (and must not break the stream)
      res.writeHead(200, { connection: 'keep-alive, x-hop', 'keep-alive': 'timeout=5', 'x-hop': '1', 'x-kept': 'yes' })
      res.end('ok')
      return
    }
    echoHandler(req, res, u)
  })
  const records: RequestRecord[] = []
  const sc = await startSidecar(oneListener([{ match: { pathPrefix: '/' }, service: 'svc' }], { svc: { endpoints: [{ address: up.address }] } }), {
    observers: [(r) => records.push(r)],
  })
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })

  const h1 = await request(sc.port, { path: '/one', headers: { host: 'svc' } })
  t.equal(h1.status, 200, 'HTTP/1.1 served')
  t.equal(json(h1).url, '/one')

  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  const get = await h2request(s, { ':path': '/two?x=1', cookie: ['a=1', 'b=2'], 'user-agent': 'h2-test' })
  t.equal(get.status, 200, 'h2c served on the same port')
  t.equal(h2json(get).url, '/two?x=1')
  const seen = up.seen.at(-1)!
  t.equal(seen.headers.host, 'svc', ':authority becomes Host')
  t.equal(seen.headers.cookie, 'a=1; b=2', 'cookie crumbs joined into one Cookie')
  t.notOk(seen.rawHeaders.some((n) => n.startsWith(':')), 'no pseudo-header forwarded')
  t.equal(seen.headers['x-forwarded-proto'], 'http')
  t.ok(seen.headers['x-request-id'], 'request id added')
  t.equal(get.headers['x-request-id'], undefined, 'the upstream answer passes (no id added on success)')

  // a body without content-length is chunked to the HTTP/1.1 upstream; with content-length it stays
  const post = await h2request(s, { ':path': '/post', ':method': 'POST', te: 'trailers' }, 'x'.repeat(100_000))
  t.equal(post.status, 200)
  t.equal(h2json(post).bodyBytes, 100_000, 'the whole body arrived')
  t.equal(up.seen.at(-1)!.headers['transfer-encoding'], 'chunked')
  t.equal(up.seen.at(-1)!.headers.te, undefined, 'te: trailers not forwarded to HTTP/1.1')
  const sized = await h2request(s, { ':path': '/post', ':method': 'PUT', 'content-length': '5' }, 'hello')
  t.equal(h2json(sized).bodyBytes, 5)
  t.equal(up.seen.at(-1)!.headers['content-length'], '5')

  const hop = await h2request(s, { ':path': '/hop' })
  t.equal(hop.status, 200)
  t.equal(hop.body, 'ok')
  t.equal(hop.headers['x-kept'], 'yes')
  t.equal(hop.headers['x-hop'], undefined, 'a field Connection names is dropped')
  t.equal(hop.headers['keep-alive'], undefined)

  t.equal(sc.access.find((a) => a.path === '/two')?.status, 200, 'access-logged')
  t.equal(records.find((r) => r.path === '/two')?.httpVersion, '2.0', 'the record says HTTP/2')
  t.equal(records.find((r) => r.path === '/one')?.httpVersion, '1.1')
})

t.test("commy's own errors on an h2 stream: JSON with code and request id; the session lives on", async (t) => {
  const sc = await startSidecar(
    oneListener([{ match: { pathPrefix: '/api' }, service: 'empty' }], { empty: { endpoints: [] } }),
  )
  t.teardown(() => sc.stop())
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  const noRoute = await h2request(s, { ':path': '/nowhere' })
  t.equal(noRoute.status, 404)
  t.equal(noRoute.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(h2json(noRoute).code, 'COMMY_ERR_NO_ROUTE')
  t.ok(noRoute.headers['x-request-id'])
  const none = await h2request(s, { ':path': '/api/x' })
  t.equal(none.status, 503)
  t.equal(h2json(none).code, 'COMMY_ERR_NO_HEALTHY_ENDPOINT')
  const tooMany: Record<string, string> = { ':path': '/api/x' }
  for (let i = 0; i < 101; i++) tooMany[`x-h${i}`] = 'v'
  const big = await h2request(s, tooMany)
  t.equal(big.status, 431, 'more than limits.maxHeaderCount headers: 431, as on HTTP/1.1')
  t.equal((await h2request(s, { ':path': '/nowhere' })).status, 404, 'the same session still serves')
})

t.test('many streams on one connection spread over 3 upstreams (round robin: fair share)', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startUpstream(n)))
  const sc = await startSidecar(oneListener([{ match: {}, service: 'svc' }], { svc: { strategy: 'round-robin', endpoints: ups.map((u) => ({ address: u.address })) } }))
  t.teardown(async () => {
    await sc.stop()
    await Promise.all(ups.map((u) => u.close()))
  })
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  const replies = await Promise.all(Array.from({ length: 90 }, (_, i) => h2request(s, { ':path': `/r${i}` })))
  const by = new Map<string, number>()
  for (const r of replies) {
    const name = h2json(r).upstream as string
    by.set(name, (by.get(name) ?? 0) + 1)
  }
  t.same(Object.fromEntries([...by].sort()), { a: 30, b: 30, c: 30 }, 'one connection, every upstream its share')
})

t.test('a preface split over several packets is still HTTP/2; a client that sends too little is closed', async (t) => {
  const up = await startUpstream('a')
  const sc = await startSidecar(oneListener([{ match: {}, service: 'svc' }], { svc: { endpoints: [{ address: up.address }] } }, { limits: { headersTimeout: '300ms' } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  const c = await RawH2.connect(sc.port, false)
  t.teardown(() => c.close())
  for (const piece of [PREFACE.subarray(0, 3), PREFACE.subarray(3, 10), PREFACE.subarray(10)]) {
    c.write(piece)
    await new Promise((r) => setTimeout(r, 30))
  }
  c.write(Buffer.concat([settings(), headers(1, headerBlock(requestFields('/split')))]))
  t.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.DATA && f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0)), 'the stream was answered')
  t.ok(c.frames.some((f) => f.type === FrameType.HEADERS && f.stream === 1), 'response headers on stream 1')

  const slow = await RawH2.connect(sc.port, false)
  t.teardown(() => slow.close())
  slow.write(PREFACE.subarray(0, 5))
  t.ok(await slow.until(() => slow.closed, 3000), 'closed after limits.headersTimeout without a verdict')
})

t.test('a client RST_STREAM cancels the upstream request (499 in the access log)', async (t) => {
  let upstreamAborted = false
  const up = await startUpstream('a', (req) => {
    req.resume()
    req.socket.once('close', () => (upstreamAborted = true))
    // never answers
  })
  const sc = await startSidecar(oneListener([{ match: {}, service: 'svc' }], { svc: { endpoints: [{ address: up.address }] } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  const stream = s.request({ ':path': '/hang', ':authority': 'svc' })
  stream.on('error', () => {})
  t.ok(await waitFor(() => up.seen.length === 1), 'the request reached the upstream')
  stream.close(http2.constants.NGHTTP2_CANCEL)
  t.ok(await waitFor(() => upstreamAborted), 'the upstream request was cancelled')
  t.ok(await waitFor(() => sc.access.some((a) => a.status === 499)), 'access log: 499')
  t.equal(sc.sidecar.listeners[0]!.forwarder.inFlight, 0)
})

t.test('an idle session (no stream, no frame for limits.keepAliveTimeout) is sent GOAWAY', async (t) => {
  const up = await startUpstream('a')
  const sc = await startSidecar(oneListener([{ match: {}, service: 'svc' }], { svc: { endpoints: [{ address: up.address }] } }, { limits: { keepAliveTimeout: '300ms' } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  let goaway = false
  s.on('goaway', () => (goaway = true))
  t.equal((await h2request(s, { ':path': '/x' })).status, 200)
  t.ok(await waitFor(() => goaway, 3000), 'GOAWAY after the idle time')
})
