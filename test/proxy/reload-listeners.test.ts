import t from 'tap'
import net from 'node:net'
import { parseConfig } from '../../src/config/load.js'
import { closedPort, request, startUpstream } from '../helpers/upstream.js'
import { startSidecar, waitFor } from '../helpers/sidecar.js'

const cfg = (port: number, upstream: number) => ({
  listeners: [{ name: 'outbound', listen: `127.0.0.1:${port}`, routes: [{ match: { pathPrefix: '/' }, service: 'echo' }] }],
  services: { echo: { endpoints: [{ address: `127.0.0.1:${upstream}` }] } },
  limits: { drainTimeout: '5s' },
})

t.test('a reload that moves a listener binds the new address and drains the old one', async (t) => {
  const up = await startUpstream('up', (req, res) => {
    const delay = req.url === '/slow' ? 300 : 0
    setTimeout(() => res.end(`hello ${req.url}`), delay)
  })
  t.teardown(() => up.close())
  const portA = await closedPort()
  const s = await startSidecar(cfg(portA, up.port))
  t.teardown(() => s.stop())

  const inFlight = request(portA, { path: '/slow' })
  await waitFor(() => up.seen.some((r) => r.url === '/slow'), 5000) // in flight at the upstream
  const portB = await closedPort()
  await s.sidecar.reload(parseConfig(JSON.stringify(cfg(portB, up.port)), 'test.yaml'))
  t.equal(s.sidecar.address().port, portB, 'the listener now reports the new address')

  const viaB = await request(portB, { path: '/b' })
  t.equal(viaB.status, 200)
  t.equal(viaB.body, 'hello /b')
  const slow = await inFlight
  t.equal(slow.status, 200, 'the request in flight on the old address finished')
  t.equal(slow.body, 'hello /slow')

  // the old address stops accepting once its drain is over
  let refused = false
  for (let i = 0; i < 50 && !refused; i++) {
    refused = await new Promise<boolean>((resolve) => {
      const c = net.connect(portA, '127.0.0.1')
      c.on('connect', () => (c.destroy(), resolve(false)))
      c.on('error', () => resolve(true))
    })
    if (!refused) await new Promise((r) => setTimeout(r, 50))
  }
  t.ok(refused, 'the old address is closed')
})

t.test('a reload whose new address cannot be bound changes nothing', async (t) => {
  const up = await startUpstream('up')
  t.teardown(() => up.close())
  const portA = await closedPort()
  const s = await startSidecar(cfg(portA, up.port))
  t.teardown(() => s.stop())
  const blocker = net.createServer()
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())))
  const busy = (blocker.address() as net.AddressInfo).port
  const before = s.sidecar.config.version
  await t.rejects(s.sidecar.reload(parseConfig(JSON.stringify(cfg(busy, up.port)), 'test.yaml')), { code: 'EADDRINUSE' })
  t.equal(s.sidecar.config.version, before, 'the old config keeps serving')
  t.equal(s.sidecar.address().port, portA)
  t.equal((await request(portA, { path: '/x' })).status, 200)
})
