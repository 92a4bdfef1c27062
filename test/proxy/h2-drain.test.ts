/**
 * HTTP/2 sessions under the listener's lifecycle: drain sends GOAWAY and lets streams in flight
 * finish; a session opened during the drain grace is served, then sent GOAWAY; shedding sends
 * GOAWAY; the connection cap counts HTTP/2 connections like any other.
 */
import t, { type Test } from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'
import { h2close, h2connect, h2request, type H2Reply } from '../helpers/h2-client.js'
import { RawH2 } from '../helpers/h2-frames.js'

async function slowSetup(t: Test, extra: Record<string, unknown> = {}) {
  const up = await startUpstream('a', (req, res) => {
    req.resume()
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('done'), 300)
  })
  const sc = await startSidecar(oneListener([{ match: {}, service: 'svc' }], { svc: { endpoints: [{ address: up.address }] } }, extra))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  return { up, sc }
}

t.test('drain: GOAWAY to the session, streams in flight finish, drain completes', async (t) => {
  const { sc } = await slowSetup(t)
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  let goaway = false
  s.on('goaway', () => (goaway = true))
  const inFlight = [1, 2, 3].map((i) => h2request(s, { ':path': `/slow${i}` }))
  t.ok(await waitFor(() => sc.sidecar.listeners[0]!.forwarder.inFlight === 3), 'three streams in flight')
  const drained = sc.sidecar.drain(5000, 0)
  t.ok(await waitFor(() => goaway), 'the client got GOAWAY')
  const replies: H2Reply[] = await Promise.all(inFlight)
  t.same(replies.map((r) => [r.status, r.body]), [[200, 'done'], [200, 'done'], [200, 'done']], 'the streams in flight finished')
  t.equal(await drained, true, 'drain completed in time')
  await t.rejects(h2request(s, { ':path': '/after' }), 'no new stream on a session that got GOAWAY')
})

t.test('drain grace: a session opened meanwhile is served, then sent GOAWAY', async (t) => {
  const { sc } = await slowSetup(t)
  const drained = sc.sidecar.drain(5000, 1500)
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  let goaway = false
  s.on('goaway', () => (goaway = true))
  const r = await h2request(s, { ':path': '/during-grace' })
  t.equal(r.status, 200, 'served during the grace')
  t.ok(await waitFor(() => goaway), 'then told to go away (HTTP/1.1: Connection: close)')
  t.equal(await drained, true)
})

t.test('shedding (out of descriptors) sends GOAWAY to HTTP/2 sessions', async (t) => {
  const { sc } = await slowSetup(t)
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  let goaway = false
  s.on('goaway', () => (goaway = true))
  const inFlight = h2request(s, { ':path': '/slow' })
  t.ok(await waitFor(() => sc.sidecar.listeners[0]!.forwarder.inFlight === 1))
  sc.sidecar.listeners[0]!.shed(true)
  t.ok(await waitFor(() => goaway), 'GOAWAY')
  t.equal((await inFlight).status, 200, 'the stream in flight finished')
  sc.sidecar.listeners[0]!.shed(false)
})

t.test('the connection cap counts HTTP/2 connections', async (t) => {
  const { sc } = await slowSetup(t, { limits: { maxConnections: 2 } })
  const a = await h2connect(sc.port)
  const b = await h2connect(sc.port)
  t.teardown(async () => {
    await h2close(a)
    await h2close(b)
  })
  t.equal((await h2request(a, { ':path': '/a' })).status, 200)
  t.equal((await h2request(b, { ':path': '/b' })).status, 200)
  const c = await RawH2.connect(sc.port)
  t.teardown(() => c.close())
  t.ok(await c.until(() => c.closed), 'a third connection is closed at once')
  t.equal(sc.sidecar.overload().refused.get('outbound')?.limit, 1, 'counted: refused, reason limit')
})

t.test('stop closes a connection that has not sent its first bytes yet', async (t) => {
  const { sc } = await slowSetup(t, { limits: { headersTimeout: '20s', requestTimeout: '30s' } })
  const c = await RawH2.connect(sc.port, false)
  t.teardown(() => c.close())
  const started = Date.now()
  await sc.sidecar.listeners[0]!.stop()
  t.ok(Date.now() - started < 2000, `stopped at once (${Date.now() - started} ms), not after limits.headersTimeout`)
  t.ok(await c.until(() => c.closed), 'the silent connection is closed')
})

t.test('a client that leaves before its first bytes frees its connection slot', async (t) => {
  const { sc } = await slowSetup(t, { limits: { maxConnections: 1 } })
  const c = await RawH2.connect(sc.port, false)
  c.socket.end() // FIN, nothing sent: the server allows half-open sockets
  await c.until(() => c.closed)
  t.ok(await waitFor(() => sc.sidecar.listeners[0]!.forwarder.inFlight === 0))
  const s = await h2connect(sc.port)
  t.teardown(() => h2close(s))
  t.equal((await h2request(s, { ':path': '/next' })).status, 200, 'the next client is served')
})
