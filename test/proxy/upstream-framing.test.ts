/**
 * Response framing: a raw upstream writes hand-made answers. One that is not valid HTTP, or
 * framed ambiguously or in a way commy would silently change, is a 502 COMMY_ERR_UPSTREAM_PROTOCOL
 * (or, when undici only finds out inside the body, a cut client connection with that code in the
 * access log), and the upstream connection it came on is never used again.
 */
import t, { type Test } from 'tap'
import { startRawUpstream, type RawAnswer } from '../helpers/raw-http.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'
import { request, type Reply } from '../helpers/upstream.js'

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'

/** Answers by path: `/ok` a valid keep-alive answer, `/<case>` the case's bytes. */
const BAD: Readonly<Record<string, { answer: RawAnswer; bodyLevel?: boolean }>> = {
  'content-length-and-chunked': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
  'duplicate-content-length': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' },
  'content-length-list': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok' },
  'malformed-status-line': { answer: 'HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok' },
  'not-http': { answer: 'hello there\r\n\r\n' },
  'bare-lf': { answer: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok' },
  'obs-fold': { answer: 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok' },
  'control-character': { answer: 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok' },
  'gzip-chunked': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
  'two-transfer-encodings': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
  'gzip-until-close': { answer: { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello', close: true } },
  'unsolicited-101': { answer: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n' },
  'bad-chunk-size': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', bodyLevel: true },
  'bad-chunk-end': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n', bodyLevel: true },
}

async function setup(t: Test) {
  const up = await startRawUpstream((path) => (path === '/ok' ? OK : path.startsWith('/after-ka') ? `${OK}HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled` : path.startsWith('/after-close') ? { bytes: `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nokGARBAGE`, close: true } : (BAD[path.slice(1)]?.answer ?? OK)))
  const sc = await startSidecar(oneListener([{ match: {}, service: 'raw' }], { raw: { endpoints: [{ address: up.address }], upstream: { connections: 1 } } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  return { up, sc }
}

/** The JSON body, or {} when it is not JSON. */
const parse = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return {}
  }
}

const get = (port: number, path: string): Promise<Reply | Error> => request(port, { path, timeoutMs: 5000 }).catch((e: unknown) => e as Error)

t.test('each malformed answer: 502 UPSTREAM_PROTOCOL (or a cut connection), never reused', async (t) => {
  const { up, sc } = await setup(t)
  for (const [name, c] of Object.entries(BAD)) {
    const warm = await get(sc.port, '/ok')
    t.equal((warm as Reply).status, 200, `${name}: a pooled connection is open`)
    const conns = up.connections()
    const r = await get(sc.port, `/${name}`)
    if (c.bodyLevel === true && r instanceof Error) t.pass(`${name}: the client connection is cut (undici found it inside the body)`)
    else {
      t.equal((r as Reply).status, 502, `${name}: 502`)
      t.match(parse((r as Reply).body), { code: 'COMMY_ERR_UPSTREAM_PROTOCOL' }, `${name}: COMMY_ERR_UPSTREAM_PROTOCOL`)
    }
    t.ok(await waitFor(() => sc.access.some((l) => l.path === `/${name}`)), `${name}: logged`)
    t.match(sc.access.find((l) => l.path === `/${name}`), { code: 'COMMY_ERR_UPSTREAM_PROTOCOL' }, `${name}: access log code`)
    const next = await get(sc.port, '/ok')
    t.equal((next as Reply).status, 200, `${name}: the next request is served`)
    t.equal((next as Reply).body, 'ok', `${name}: with its own answer`)
    t.equal(up.connections(), conns + 1, `${name}: on a new upstream connection`)
  }
})

t.test('bytes after a complete answer: the answer is forwarded, the connection is not reused', async (t) => {
  const { up, sc } = await setup(t)
  for (const path of ['/after-ka', '/after-close']) {
    t.equal(((await get(sc.port, '/ok')) as Reply).status, 200)
    const conns = up.connections()
    const r = (await get(sc.port, path)) as Reply
    t.equal(r.status, 200, `${path}: the complete answer`)
    t.equal(r.body, 'ok', `${path}: its body only`)
    const next = (await get(sc.port, '/ok')) as Reply
    t.equal(next.body, 'ok', `${path}: the next request gets its own answer, not the extra bytes`)
    t.equal(up.connections(), conns + 1, `${path}: on a new upstream connection`)
  }
})
