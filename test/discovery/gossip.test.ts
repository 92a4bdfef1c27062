/** GossipDiscovery: members' announced services become DiscoveryUpdates; dead or left members' endpoints go. */
import t from 'tap'
import { GossipDiscovery, localAnnouncements } from '../../src/discovery/gossip.js'
import type { DiscoveryUpdate } from '../../src/discovery/discovery.js'
import type { ServiceAnnouncement } from '../../src/membership/member.js'
import { FakeMembers, member, svc } from '../helpers/fake-members.js'
import { TestCluster } from '../helpers/gossip-cluster.js'

t.test('announced services become per-service updates with node, zone, tags, weight and reported health', async (t) => {
  const src = new FakeMembers()
  src.set(member('n1', [svc('web', 8080, { tags: ['v2'], weight: 3 }), svc('db', 5432)]))
  const d = new GossipDiscovery(src)
  d.start()
  const seen: DiscoveryUpdate[] = []
  d.subscribe((u) => seen.push(u))
  t.same(
    seen.map((u) => u.service).sort(),
    ['db', 'web'],
    'replays the current state on subscribe',
  )
  t.same(seen.find((u) => u.service === 'web')!.endpoints, [
    { host: '10.0.0.1', port: 8080, weight: 3, zone: 'z1', tags: ['v2'], node: 'n1', reportedHealth: 'healthy' },
  ])
  seen.length = 0
  src.set(member('n2', [svc('web', 9090, { host: '10.0.0.2', health: 'unhealthy', zone: undefined } as Partial<ServiceAnnouncement>)], { zone: undefined }))
  t.same(seen.map((u) => u.service), ['web'], 'only the touched service is re-published')
  t.same(
    seen[0]!.endpoints.map((e) => `${e.node}:${e.port}:${e.reportedHealth}:${e.zone}`),
    ['n1:8080:healthy:z1', 'n2:9090:unhealthy:undefined'],
  )
  seen.length = 0
  src.set(member('n2', [svc('web', 9090, { host: '10.0.0.2', health: 'unhealthy' })], { zone: undefined, incarnation: 1 }), 'update')
  t.same(seen, [], 'an update that changes nothing visible publishes nothing')
  d.stop()
  t.equal(src.listenerCount(), 0, 'stop unsubscribes')
})

t.test('dead and left members lose their endpoints at once; suspects keep them; forgotten ones too', async (t) => {
  const src = new FakeMembers()
  const d = new GossipDiscovery(src)
  d.start()
  const seen: DiscoveryUpdate[] = []
  d.subscribe((u) => seen.push(u))
  src.set(member('a', [svc('api', 1)]))
  src.set(member('b', [svc('api', 2)]))
  seen.length = 0
  src.set(member('b', [svc('api', 2)], { state: 'suspect' }))
  t.same(seen, [], 'suspect: still routed')
  src.set(member('b', [svc('api', 2)], { state: 'dead' }))
  t.same(seen.at(-1), { service: 'api', endpoints: [{ host: '10.0.0.1', port: 1, weight: 1, zone: 'z1', tags: [], node: 'a', reportedHealth: 'healthy' }] })
  src.set(member('a', [svc('api', 1)], { state: 'left' }))
  t.same(seen.at(-1), { service: 'api', endpoints: [] }, 'last endpoint gone: an empty update')
  t.same(d.current(), [], 'no service left')
  src.set(member('c', [svc('api', 3)]))
  src.forget('c')
  t.same(seen.at(-1), { service: 'api', endpoints: [] }, 'forget removes too')
})

t.test('a node own services are included unless includeSelf is false', async (t) => {
  const src = new FakeMembers()
  src.set(member('me', [svc('web', 1)], { self: true }))
  const withSelf = new GossipDiscovery(src)
  const without = new GossipDiscovery(src, { includeSelf: false })
  withSelf.start()
  without.start()
  t.equal(withSelf.current().length, 1)
  t.equal(without.current().length, 0)
})

t.test('over a real (in-memory) mesh: a service offered only by c is discovered at a, and removed when c dies', async (t) => {
  const c = new TestCluster({ seed: 21 })
  for (const n of ['a', 'b', 'c']) c.add(n)
  await c.startAll()
  await c.runUntil(() => c.allSee(['a', 'b', 'c'], 'alive'), 4000)
  const d = new GossipDiscovery(c.node('a').membership)
  d.start()
  const seen: DiscoveryUpdate[] = []
  d.subscribe((u) => seen.push(u))
  c.node('c').membership.setLocalMeta({ services: [svc('orders', 7000, { host: '10.9.9.9', tags: ['grpc'] })] })
  const ms = await c.runUntil(() => d.current().some((u) => u.service === 'orders'), 2000)
  t.ok(ms >= 0, `discovered after ${ms} ms`)
  t.same(d.current()[0]!.endpoints.map((e) => `${e.node} ${e.host}:${e.port} ${e.tags.join(',')}`), ['c 10.9.9.9:7000 grpc'])
  c.node('c').net.crash()
  const gone = await c.runUntil(() => d.current().length === 0, 10_000)
  t.ok(gone >= 0, `removed ${gone} ms after the crash (when c was declared dead)`)
  t.same(seen.at(-1), { service: 'orders', endpoints: [] })
  d.stop()
  await c.stopAll()
})

t.test('started before the membership: the node own services appear once it starts', async (t) => {
  const c = new TestCluster({ seed: 22 })
  const a = c.add('a', { meta: localAnnouncements([{ name: 'cart', address: '127.0.0.1:9000', host: '127.0.0.1', port: 9000, weight: 2, tags: ['x'], healthCheck: undefined, allow: undefined, tls: undefined }], () => 'healthy') })
  const d = new GossipDiscovery(a.membership)
  d.start()
  t.same(d.current(), [])
  await c.startAll()
  t.same(d.current(), [{ service: 'cart', endpoints: [{ host: '127.0.0.1', port: 9000, weight: 2, zone: undefined, tags: ['x'], node: 'a', reportedHealth: 'healthy' }] }])
  d.stop()
  await c.stopAll()
})

t.test('with an mTLS inbound: services are announced at the inbound address with mtls, and discovered with it', async (t) => {
  const local = [{ name: 'users', address: '127.0.0.1:8080', host: '127.0.0.1', port: 8080, weight: 3, tags: ['v1'], healthCheck: undefined, allow: ['payments'], tls: undefined }]
  const meta = localAnnouncements(local, () => 'healthy', { host: '10.1.2.3', port: 15006 })
  t.same(meta.services, [{ name: 'users', host: '10.1.2.3', port: 15006, weight: 3, tags: ['v1'], health: 'healthy', mtls: true }], "the app's own address stays private")
  t.same(localAnnouncements(local).services[0], { name: 'users', host: '127.0.0.1', port: 8080, weight: 3, tags: ['v1'], health: 'unknown' }, 'without inbound: the app address, no mtls')
  const c = new TestCluster({ seed: 23 })
  const a = c.add('a', { meta })
  const d = new GossipDiscovery(a.membership)
  d.start()
  await c.startAll()
  t.same(d.current(), [{ service: 'users', endpoints: [{ host: '10.1.2.3', port: 15006, weight: 3, zone: undefined, tags: ['v1'], node: 'a', reportedHealth: 'healthy', mtls: true }] }])
  d.stop()
  await c.stopAll()
})
