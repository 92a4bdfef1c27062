import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { json, request, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar } from '../helpers/sidecar.js'

t.test('reload: new routes and endpoints apply at once; endpoint stats survive', async (t) => {
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')])
  const first = oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: a.address }] } })
  const sc = await startSidecar(first)
  t.teardown(async () => {
    await sc.stop()
    await a.close()
    await b.close()
  })
  t.equal(json(await request(sc.port)).upstream, 'a')
  const epA = sc.sidecar.registry.service('s')!.get(a.address)!

  const second = oneListener(
    [
      { match: { pathPrefix: '/b' }, service: 'other' },
      { match: {}, service: 's' },
    ],
    { s: { endpoints: [{ address: a.address }, { address: b.address }] }, other: { endpoints: [{ address: b.address }] } },
  )
  await sc.sidecar.reload(parseConfig(JSON.stringify(second), 'test.yaml'))
  t.equal(sc.sidecar.registry.service('s')!.get(a.address), epA, 'the same endpoint object (stats kept)')
  t.equal(epA.requests, 1)
  t.equal(json(await request(sc.port, { path: '/b/x' })).upstream, 'b', 'new route and service')
  const seen = new Set([json(await request(sc.port)).upstream, json(await request(sc.port)).upstream])
  t.same([...seen].sort(), ['a', 'b'], 'new endpoint in rotation')

  await sc.sidecar.reload(parseConfig(JSON.stringify(first), 'test.yaml'))
  t.equal(sc.sidecar.registry.service('other'), undefined, 'removed service dropped')
  t.equal(json(await request(sc.port, { path: '/b/x' })).upstream, 'a')

  t.equal(json(await request(sc.port)).upstream, 'a', 'still serving on the same listener')
})
