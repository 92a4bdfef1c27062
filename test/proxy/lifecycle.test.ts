import t from 'tap'
import http from 'node:http'
import { request, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'

const tcpResources = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP') || r === 'Timeout').length

t.test('stop() leaves no socket, server or timer behind', async (t) => {
  const up = await startUpstream('u')
  t.teardown(() => up.close())
  const before = tcpResources()
  const sc = await startSidecar(oneListener([{ match: {}, service: 's', timeout: '5s' }], { s: { endpoints: [{ address: up.address }] } }))
  const agent = new http.Agent({ keepAlive: true })
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: sc.port, agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
    )
  }
  agent.destroy()
  await sc.stop()
  await sc.stop()
  t.ok(await waitFor(() => tcpResources() <= before, 2000), `handles back to ${before} (now ${tcpResources()})`)
})

t.test('drain: requests in flight finish, keep-alive connections are closed, new ones refused', async (t) => {
  const up = await startUpstream('slow', (req, res) => {
    req.resume()
    setTimeout(() => res.end('done'), 300)
  })
  t.teardown(() => up.close())
  const sc = await startSidecar(oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }))
  const agent = new http.Agent({ keepAlive: true, maxSockets: 5 })
  t.teardown(() => agent.destroy())
  const replies = Array.from(
    { length: 5 },
    () =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) =>
        http
          .get({ host: '127.0.0.1', port: sc.port, agent }, (res) => {
            res.resume()
            res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }))
          })
          .on('error', reject),
      ),
  )
  t.ok(await waitFor(() => up.seen.length === 5), 'in flight')
  const drained = sc.sidecar.drain(5000)
  t.ok(sc.sidecar.draining)
  const results = await Promise.all(replies)
  t.same(results.map((r) => r.status), [200, 200, 200, 200, 200])
  t.ok(results.every((r) => r.connection === 'close'), 'responses during drain close their connection')
  t.equal(await drained, true, 'drained before the deadline')
  await t.rejects(request(sc.port), 'no longer accepting')
})

t.test('drain deadline: a request still running is cut and stop completes', async (t) => {
  const up = await startUpstream('stuck', (req) => req.resume())
  t.teardown(() => up.close())
  const sc = await startSidecar(oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }))
  const pending = request(sc.port).then(
    (r) => r.status,
    () => 'cut',
  )
  t.ok(await waitFor(() => up.seen.length === 1))
  const started = Date.now()
  t.equal(await sc.sidecar.drain(200), false, 'reported as not drained')
  t.ok(Date.now() - started < 2000)
  t.equal(await pending, 'cut')
})

t.test('a listener that cannot bind fails start() and releases what started', async (t) => {
  const first = await startSidecar(oneListener([{ match: {}, service: 's' }], { s: { endpoints: [] } }))
  t.teardown(() => first.stop())
  const taken = `127.0.0.1:${first.port}`
  await t.rejects(
    startSidecar({
      listeners: [
        { name: 'a', listen: '127.0.0.1:0', routes: [] },
        { name: 'b', listen: taken, routes: [] },
      ],
      services: {},
    }),
    { code: 'EADDRINUSE' },
  )
})
