import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { closedPort, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'

t.test('WebSocket echo through the sidecar, to the routed service', async (t) => {
  const server = http.createServer((_req, res) => res.end('plain'))
  const wss = new WebSocketServer({ server })
  let upstreamHeaders: http.IncomingHttpHeaders = {}
  wss.on('connection', (ws, req) => {
    upstreamHeaders = req.headers
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${(data as Buffer).toString()}`, { binary: isBinary }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const other = await startUpstream('other')
  const sc = await startSidecar(
    oneListener(
      [
        { match: { pathPrefix: '/ws' }, service: 'chat' },
        { match: {}, service: 'other' },
      ],
      { chat: { endpoints: [{ address: `127.0.0.1:${port}` }] }, other: { endpoints: [{ address: other.address }] } },
    ),
  )
  t.teardown(async () => {
    await sc.stop()
    wss.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    await other.close()
  })

  const ws = new WebSocket(`ws://127.0.0.1:${sc.port}/ws/room`)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const messages: string[] = []
  ws.on('message', (d) => messages.push((d as Buffer).toString()))
  ws.send('hello')
  ws.send('world')
  ws.send(Buffer.from([1, 2, 3]), { binary: true })
  t.ok(await waitFor(() => messages.length === 3), 'three echoes')
  t.same(messages.slice(0, 2), ['echo:hello', 'echo:world'])
  t.equal(upstreamHeaders['x-forwarded-for'], '127.0.0.1', 'forwarding header on the upgrade request')
  const ep = sc.sidecar.registry.service('chat')!.snapshot.all[0]!
  t.equal(ep.inFlight, 1, 'an open WebSocket counts as in flight')
  ws.close()
  t.ok(await waitFor(() => ep.inFlight === 0), 'released when it closes')
  t.ok(await waitFor(() => sc.access.some((l) => l.status === 101 && l.service === 'chat')), 'access log line with 101')
})

t.test('upgrade to a dead endpoint or without a route: clean error, no crash', async (t) => {
  const dead = await closedPort()
  const sc = await startSidecar(oneListener([{ match: { pathPrefix: '/ws' }, service: 'dead' }], { dead: { endpoints: [{ address: `127.0.0.1:${dead}` }] } }))
  t.teardown(() => sc.stop())
  const attempt = (path: string) =>
    new Promise<{ error?: string; status?: number }>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${sc.port}${path}`)
      ws.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode })
        ws.terminate()
      })
      ws.on('error', (e) => resolve({ error: e.message }))
    })
  const r1 = await attempt('/ws')
  t.equal(r1.status, 502, 'dead endpoint: 502')
  const r2 = await attempt('/nope')
  t.equal(r2.status, 404, 'no route: 404')
  t.ok(await waitFor(() => sc.access.some((l) => l.code === 'COMMY_ERR_UPSTREAM_CONNECT')), 'connect failure logged')
  const ep = sc.sidecar.registry.service('dead')!.snapshot.all[0]!
  t.equal(ep.inFlight, 0)
})
