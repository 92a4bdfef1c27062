/**
 * Request framing, on raw sockets: every malformed class is refused with commy's JSON error and
 * the connection closed, on a fresh connection and after a valid keep-alive request on the same
 * connection, and nothing of it reaches the upstream (a real upstream counts what it receives).
 */
import t, { type Test } from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RawClient } from '../helpers/raw-http.js'
import { oneListener, startSidecar, type TestSidecar } from '../helpers/sidecar.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'

/** An upstream that counts requests it received whole, and answers with what it saw. */
async function countingUpstream(name: string): Promise<Upstream & { complete: () => number }> {
  let complete = 0
  const up = await startUpstream(name, (req: IncomingMessage, res: ServerResponse) => {
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => {
      complete++
      const body = JSON.stringify({ upstream: name, url: req.url, host: req.headers.host ?? null, bodyBytes: n, contentLength: req.headers['content-length'] ?? null })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
    })
  })
  up.server.maxHeadersCount = 0 // no limit: the upstream sees every header commy forwards
  return Object.assign(up, { complete: () => complete })
}

async function setup(t: Test, limits: Record<string, unknown> = {}) {
  const echo = await countingUpstream('echo')
  const faulty = await countingUpstream('faulty')
  const sc: TestSidecar = await startSidecar(
    oneListener(
      [
        { match: { host: 'faulty' }, service: 'faulty' },
        { match: {}, service: 'echo' },
      ],
      { echo: { endpoints: [{ address: echo.address }] }, faulty: { endpoints: [{ address: faulty.address }] } },
      { limits },
    ),
  )
  t.teardown(async () => {
    await sc.stop()
    await echo.close()
    await faulty.close()
  })
  return { sc, echo, faulty }
}

/** The JSON body, or {} when it is not JSON (Node's own bare answers). */
const parse = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return {}
  }
}

const headers = (n: number) => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('')

/** Malformed requests: the bytes, the answer, and whether Node had parsed the head (body-level). */
const MALFORMED: readonly { name: string; bytes: string; status: number; code: string; bodyLevel?: boolean }[] = [
  { name: 'smuggling: Content-Length and Transfer-Encoding', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'duplicate Content-Length', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'Content-Length list', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nContent-Length: 5, 5\r\n\r\nhello', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'bad chunk size', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST', bodyLevel: true },
  { name: 'chunk size overflow', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST', bodyLevel: true },
  { name: 'obs-fold', bytes: 'GET / HTTP/1.1\r\nHost: echo\r\nX-A: a\r\n b\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'control character in a header value', bytes: 'GET / HTTP/1.1\r\nHost: echo\r\nX-A: a\x01b\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'space before the colon', bytes: 'GET / HTTP/1.1\r\nHost: echo\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'too many headers', bytes: `GET / HTTP/1.1\r\nHost: echo\r\n${headers(100)}\r\n`, status: 431, code: 'COMMY_ERR_HEADERS_TOO_LARGE' },
  { name: 'request-target longer than maxUriLength', bytes: `GET /${'a'.repeat(8192)} HTTP/1.1\r\nHost: echo\r\n\r\n`, status: 414, code: 'COMMY_ERR_URI_TOO_LONG' },
  { name: 'HTTP/1.1 without Host', bytes: 'GET / HTTP/1.1\r\nX-A: b\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'two Host headers', bytes: 'GET / HTTP/1.1\r\nHost: echo\r\nHost: faulty\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'invalid Host value', bytes: 'GET / HTTP/1.1\r\nHost: echo/x\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'absolute-form with userinfo', bytes: 'GET http://user:pw@faulty/x HTTP/1.1\r\nHost: echo\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'Transfer-Encoding: gzip, chunked', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 501, code: 'COMMY_ERR_TRANSFER_ENCODING' },
  { name: 'Transfer-Encoding on two lines', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 501, code: 'COMMY_ERR_TRANSFER_ENCODING' },
  { name: 'Transfer-Encoding: gzip alone', bytes: 'POST / HTTP/1.1\r\nHost: echo\r\nTransfer-Encoding: gzip\r\n\r\nhello', status: 501, code: 'COMMY_ERR_TRANSFER_ENCODING' },
  { name: 'Transfer-Encoding in HTTP/1.0', bytes: 'POST / HTTP/1.0\r\nHost: echo\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'Upgrade without Host', bytes: 'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', status: 400, code: 'COMMY_ERR_BAD_REQUEST' },
  { name: 'Expect: 100-continue on a refused request (no 100 first)', bytes: `POST /${'a'.repeat(8192)} HTTP/1.1\r\nHost: echo\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`, status: 414, code: 'COMMY_ERR_URI_TOO_LONG' },
  { name: 'HTTP/2.0 request line', bytes: 'GET / HTTP/2.0\r\nHost: echo\r\n\r\n', status: 505, code: 'COMMY_ERR_HTTP_VERSION' },
]

const VALID = 'GET /ok HTTP/1.1\r\nHost: echo\r\n\r\n'

t.test('each malformed class: JSON error, connection closed, nothing reaches the upstream', async (t) => {
  const { sc, echo, faulty } = await setup(t)
  for (const m of MALFORMED) {
    for (const afterKeepAlive of [false, true]) {
      const label = `${m.name} (${afterKeepAlive ? 'after a keep-alive request' : 'fresh connection'})`
      const before = { seen: echo.seen.length + faulty.seen.length, complete: echo.complete() + faulty.complete() }
      const c = await RawClient.connect(sc.port)
      if (afterKeepAlive) {
        c.send(VALID)
        const ok = await c.response()
        t.equal(ok.status, 200, `${label}: the valid request is answered`)
        before.seen++
        before.complete++
      }
      c.send(m.bytes)
      let answer
      try {
        answer = await c.response()
      } catch (err) {
        t.fail(`${label}: ${(err as Error).message}`)
        c.destroy()
        continue
      }
      t.equal(answer.status, m.status, `${label}: status`)
      t.match(parse(answer.body), { code: m.code }, `${label}: JSON error code`)
      t.equal(answer.headers.connection, 'close', `${label}: Connection: close`)
      t.ok(await c.closedWithin(3000), `${label}: the connection is closed`)
      c.destroy()
      t.equal(echo.complete() + faulty.complete(), before.complete, `${label}: no request reached the upstream whole`)
      if (m.bodyLevel !== true) t.equal(echo.seen.length + faulty.seen.length, before.seen, `${label}: nothing reached the upstream`)
    }
  }
})

t.test('defect 8: a POST past Node\'s 1,000-header cut-off is refused, never forwarded without its body', async (t) => {
  const { sc, echo } = await setup(t)
  const c = await RawClient.connect(sc.port)
  c.send(`POST /upload HTTP/1.1\r\nHost: echo\r\n${headers(1100)}Content-Length: 5\r\n\r\nhello`)
  const r = await c.response()
  t.equal(r.status, 431)
  t.match(parse(r.body), { code: 'COMMY_ERR_HEADERS_TOO_LARGE' })
  t.ok(await c.closedWithin(3000), 'connection closed')
  c.destroy()
  t.equal(echo.seen.length, 0, 'nothing forwarded')
})

t.test('maxHeaderCount: exactly the limit passes, one more is 431; at the largest setting truncation is still detected', async (t) => {
  const small = await setup(t, { maxHeaderCount: 5 })
  const ok = await RawClient.connect(small.sc.port)
  ok.send(`GET / HTTP/1.1\r\nHost: echo\r\n${headers(4)}\r\n`)
  t.equal((await ok.response()).status, 200, '5 headers (Host included) pass')
  ok.destroy()
  const over = await RawClient.connect(small.sc.port)
  over.send(`GET / HTTP/1.1\r\nHost: echo\r\n${headers(5)}\r\n`)
  const r = await over.response()
  t.equal(r.status, 431, '6 headers: 431')
  t.match(parse(r.body), { code: 'COMMY_ERR_HEADERS_TOO_LARGE', error: /more than 5 request headers/ })
  over.destroy()

  const large = await setup(t, { maxHeaderCount: 1000, maxHeaderSize: 65536 })
  const c = await RawClient.connect(large.sc.port)
  c.send(`POST / HTTP/1.1\r\nHost: echo\r\n${headers(1200)}Content-Length: 5\r\n\r\nhello`)
  t.equal((await c.response()).status, 431, '1,201 headers with the limit at 1,000: 431')
  c.destroy()
  const fine = await RawClient.connect(large.sc.port)
  fine.send(`POST / HTTP/1.1\r\nHost: echo\r\n${headers(998)}Content-Length: 5\r\n\r\nhello`)
  const f = await fine.response()
  t.equal(f.status, 200, '1,000 headers pass')
  t.match(parse(f.body), { bodyBytes: 5, contentLength: '5' }, 'with their body')
  fine.destroy()
})

t.test('defect 9: an absolute-form target is routed by its authority and forwarded with Host replaced', async (t) => {
  const { sc, echo, faulty } = await setup(t)
  const c = await RawClient.connect(sc.port)
  c.send('GET http://echo:8080/x?y=1 HTTP/1.1\r\nHost: faulty\r\n\r\n')
  const r = await c.response()
  t.equal(r.status, 200)
  t.match(parse(r.body), { upstream: 'echo', url: '/x?y=1', host: 'echo:8080' }, 'origin-form path, Host from the target')
  t.equal(faulty.seen.length, 0, 'the Host header did not route')
  const seen = echo.seen[0]!
  t.equal(seen.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length, 1, 'one Host upstream')
  t.equal(seen.headers['x-forwarded-host'], 'echo:8080', 'X-Forwarded-Host: the authority the client asked for')
  c.send('GET http://faulty/y HTTP/1.1\r\nHost: echo\r\n\r\n')
  t.match(parse((await c.response()).body), { upstream: 'faulty', host: 'faulty' }, 'the same connection stays usable')
  c.destroy()
})

t.test('HTTP/1.0 without Host is served; HTTP/1.1 without Host gets the JSON 400', async (t) => {
  const { sc } = await setup(t)
  const c = await RawClient.connect(sc.port)
  c.send('GET /old HTTP/1.0\r\n\r\n')
  const r = await c.response()
  t.equal(r.status, 200)
  t.match(parse(r.body), { upstream: 'echo', url: '/old' })
  c.destroy()
  const d = await RawClient.connect(sc.port)
  d.send('GET / HTTP/1.1\r\n\r\n')
  const e = await d.response()
  t.equal(e.status, 400)
  t.match(e.headers['content-type'], /application\/json/)
  t.match(parse(e.body), { code: 'COMMY_ERR_BAD_REQUEST', error: /Host/, requestId: /.+/ })
  d.destroy()
})

t.test('refusals are in the access log with their code', async (t) => {
  const { sc } = await setup(t)
  const c = await RawClient.connect(sc.port)
  c.send(`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: echo\r\n\r\n`)
  t.equal((await c.response()).status, 414)
  c.destroy()
  const until = Date.now() + 3000
  while (sc.access.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  t.match(sc.access[0], { status: 414, code: 'COMMY_ERR_URI_TOO_LONG' })
})
