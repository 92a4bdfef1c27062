/**
 * Timeouts that hold (issue 10, items 5 and 7): inbound timeouts fire within 1 s of their
 * setting, no hidden undici timer, the timeout that fired is named, trickling request bodies are
 * cut with 408, request buffering keeps bodies whole. (Slow clients vs. the upstream pool:
 * slow-clients.test.ts.)
 */
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import type { Attempt } from '../../src/pipeline/pipeline.js'
import { dispatchOptions } from '../../src/transport/undici.js'
import { checkingInterval } from '../../src/proxy/listener.js'
import { json, request, startUpstream, type Upstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor, type TestSidecar } from '../helpers/sidecar.js'
import { bodyOf, rawClient, statusOf } from '../helpers/raw-client.js'

async function setup(t: { teardown(fn: () => Promise<void>): void }, raw: Record<string, unknown>, ...ups: Upstream[]): Promise<TestSidecar> {
  const sc = await startSidecar(raw)
  t.teardown(async () => {
    await sc.stop()
    for (const u of ups) await u.close()
  })
  return sc
}

t.test('inbound timeouts are checked often enough to fire within 1 s of their setting', async (t) => {
  t.equal(checkingInterval(10_000, 300_000), 1000, 'defaults: checked every second')
  t.equal(checkingInterval(2000, 0), 500, 'a short timeout: a quarter of it')
  t.equal(checkingInterval(0, 0), 1000, 'no timeouts: every second')
  t.equal(checkingInterval(100, 100), 50, 'never more often than every 50 ms')
})

t.test('limits.headersTimeout 2s: a client that sends half its headers is cut within 2-3 s', async (t) => {
  const up = await startUpstream('a')
  const sc = await setup(t, oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }, { limits: { headersTimeout: '2s' } }), up)
  const r = await rawClient(sc.port, 'GET / HTTP/1.1\r\nHost: s\r\nx-half: ')
  t.ok(r.closedAfterMs >= 1900 && r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`)
  if (r.text !== '') {
    t.equal(statusOf(r.text), 408)
    t.equal(bodyOf(r.text).code, 'COMMY_ERR_REQUEST_TIMEOUT')
  }
  t.equal(up.seen.length, 0, 'nothing reached the upstream')
})

t.test('limits.requestTimeout 2s: a request whose body does not arrive in time is cut within 2-3 s', async (t) => {
  const up = await startUpstream('a')
  const limits = { headersTimeout: '1s', requestTimeout: '2s', requestBodyIdleTimeout: 0, minRequestBodyRate: 0 }
  const sc = await setup(t, oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }, { limits }), up)
  const r = await rawClient(sc.port, 'POST / HTTP/1.1\r\nHost: s\r\nContent-Length: 100\r\n\r\n', { trickle: 'x'.repeat(100), everyMs: 200 })
  t.ok(r.closedAfterMs >= 1900 && r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`)
  t.equal(up.seen.length, 0, 'nothing reached the upstream (the body was still being buffered)')
})

t.test('a route without timeout gets 15 s; timeout: 0 is no limit', async (t) => {
  const base = { listeners: [{ name: 'l', listen: '127.0.0.1:0', routes: [{ match: {}, service: 's' }] }], services: { s: { endpoints: [{ address: '127.0.0.1:1' }] } } }
  const cfg = parseConfig(JSON.stringify(base), 't.yaml')
  t.equal(cfg.listeners[0]!.routes[0]!.timeoutMs, 15_000)
  const off = parseConfig(JSON.stringify({ ...base, listeners: [{ ...base.listeners[0], routes: [{ match: {}, service: 's', timeout: 0 }] }] }), 't.yaml')
  t.equal(off.listeners[0]!.routes[0]!.timeoutMs, 0)
})

t.test("undici's own timers are off: a try's only timer is retries.perTryTimeout", async (t) => {
  const attempt = (timeoutMs: number) => ({ timeoutMs, request: { path: '/', method: 'GET', headers: [], body: null } }) as unknown as Attempt
  const none = dispatchOptions(attempt(0))
  t.equal(none.headersTimeout, 0, 'no per-try timeout: undici waits for headers without limit (its default would be 300 s)')
  t.equal(none.bodyTimeout, 0, 'no body timeout (its default would be 300 s)')
  t.equal(dispatchOptions(attempt(250)).headersTimeout, 250, 'perTryTimeout is the time-to-headers limit')
})

t.test('timeout: 0 leaves a slow answer alone; a short route timeout and perTryTimeout are named when they fire', async (t) => {
  const slow = await startUpstream('slow', (req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '0')
    const timer = setTimeout(() => res.end('late'), ms)
    res.on('close', () => clearTimeout(timer))
  })
  const routes = [
    { match: { pathPrefix: '/none' }, service: 's', timeout: 0 },
    { match: { pathPrefix: '/route' }, service: 's', timeout: '300ms' },
    { match: { pathPrefix: '/try' }, service: 's', retries: { attempts: 1, perTryTimeout: '200ms' } },
  ]
  const sc = await setup(t, oneListener(routes, { s: { endpoints: [{ address: slow.address }] } }), slow)
  const none = await request(sc.port, { path: '/none?ms=1500' })
  t.equal(none.status, 200, 'answered after 1.5 s with no limit')
  t.equal(none.body, 'late')

  const started = Date.now()
  const route = await request(sc.port, { path: '/route?ms=3000' })
  t.equal(route.status, 504)
  t.ok(Date.now() - started < 1500, 'the route timeout fired')
  t.match(json(route), { code: 'COMMY_ERR_UPSTREAM_TIMEOUT', error: /within 300ms \(route `timeout`\)/ })

  const perTry = await request(sc.port, { path: '/try?ms=3000' })
  t.equal(perTry.status, 504)
  t.match(json(perTry), { code: 'COMMY_ERR_UPSTREAM_TIMEOUT', error: /within 200ms \(route `retries\.perTryTimeout`\)/ })
  t.notMatch(perTry.body, /within 0ms/)
})

t.test('a request body that goes idle is cut with 408, the connection closed, nothing sent upstream', async (t) => {
  const up = await startUpstream('a')
  const limits = { requestBodyIdleTimeout: '1s', minRequestBodyRate: 0 }
  const sc = await setup(t, oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }, { limits }), up)
  const r = await rawClient(sc.port, 'POST /upload HTTP/1.1\r\nHost: s\r\nContent-Length: 100\r\n\r\n0123456789')
  t.equal(statusOf(r.text), 408)
  t.match(bodyOf(r.text), { code: 'COMMY_ERR_REQUEST_TIMEOUT', error: /limits\.requestBodyIdleTimeout/ })
  t.match(r.text, /connection: close/i)
  t.ok(r.closedAfterMs >= 900 && r.closedAfterMs < 2500, `cut after ${r.closedAfterMs} ms`)
  t.equal(up.seen.length, 0, 'the buffered body never reached an endpoint')
  t.ok(await waitFor(() => sc.access.some((l) => l.status === 408 && l.code === 'COMMY_ERR_REQUEST_TIMEOUT')), 'logged as 408')
})

t.test('a body longer than requestBufferSize streams after its head; going idle aborts the upstream try', async (t) => {
  let upstreamGot = 0
  let upstreamAborted = false
  const up = await startUpstream('a', (req, res) => {
    req.on('data', (c: Buffer) => (upstreamGot += c.length))
    req.on('end', () => res.end('ok'))
    res.on('close', () => {
      if (!res.writableFinished) upstreamAborted = true
    })
  })
  const limits = { requestBodyIdleTimeout: '1s', minRequestBodyRate: 0, requestBufferSize: 16 }
  const sc = await setup(t, oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }, { limits }), up)
  const r = await rawClient(sc.port, `POST /upload HTTP/1.1\r\nHost: s\r\nContent-Length: 100\r\n\r\n${'x'.repeat(40)}`)
  t.equal(statusOf(r.text), 408)
  t.equal(up.seen.length, 1, 'past the buffer the body was streamed to an endpoint')
  t.ok(await waitFor(() => upstreamAborted), 'the upstream request was aborted')
  t.equal(upstreamGot, 40, 'the upstream got the head and what followed, nothing more')
})

t.test('a body that ends within requestBufferSize is sent from memory with its Content-Length', async (t) => {
  const up = await startUpstream('a')
  const sc = await setup(t, oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }, { limits: { requestBufferSize: 1024 } }), up)
  const small = await request(sc.port, { method: 'POST', path: '/small', body: 'a'.repeat(1000) })
  t.match(json(small), { bodyBytes: 1000 })
  const large = await request(sc.port, { method: 'POST', path: '/large', body: 'b'.repeat(100_000) })
  t.match(json(large), { bodyBytes: 100_000 }, 'a longer body: head then the rest, nothing lost')
  const chunked = await request(sc.port, { method: 'POST', path: '/chunked', headers: { 'transfer-encoding': 'chunked' }, body: 'c'.repeat(5000) })
  t.match(json(chunked), { bodyBytes: 5000 })
  t.equal(up.seen[0]!.headers['content-length'], '1000')
})
