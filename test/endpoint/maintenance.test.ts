/**
 * Maintenance as an eligibility input: the Maintenance state (by id / local name, with events),
 * an endpoint in maintenance here or by its own node is `draining` with reason `maintenance`, never
 * brought back by panic routing; the gossip flag (announcements, discovery, wire: previous frames
 * byte-identical, an old node's mask refuses it); Membership's pause/rejoin for undrain.
 */
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { Maintenance, type MaintenanceChange } from '../../src/endpoint/maintenance.js'
import { Endpoint, type EndpointInfo } from '../../src/endpoint/endpoint.js'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import { GossipDiscovery, localAnnouncements } from '../../src/discovery/gossip.js'
import { decodePacket, encodeMessage, encodePacket, type Message } from '../../src/membership/codec.js'
import type { MemberInfo } from '../../src/membership/swim.js'
import { sameMeta } from '../../src/membership/member.js'
import type { DiscoveryUpdate } from '../../src/discovery/discovery.js'
import { TestCluster, localGossipConfig } from '../helpers/gossip-cluster.js'

const info = (port: number, extra: Partial<EndpointInfo> = {}): EndpointInfo => ({ host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [], ...extra })

t.test('Maintenance keeps endpoints and local services apart and tells each change once', async (t) => {
  const m = new Maintenance()
  const seen: MaintenanceChange[] = []
  m.on({ changed: (c) => seen.push(c) })
  t.equal(m.set('endpoint', 'svc~127.0.0.1:1', true), true)
  t.equal(m.set('endpoint', 'svc~127.0.0.1:1', true), false, 'already on: no change')
  t.equal(m.set('local', 'orders', true), true)
  t.ok(m.endpoint('svc~127.0.0.1:1'))
  t.notOk(m.endpoint('orders'), 'a local name is not an endpoint id')
  t.ok(m.local('orders'))
  t.same(m.list(), { endpoints: ['svc~127.0.0.1:1'], local: ['orders'] })
  t.equal(m.set('local', 'orders', false), true)
  t.equal(m.set('local', 'orders', false), false)
  t.same(seen, [
    { target: 'endpoint', id: 'svc~127.0.0.1:1', on: true },
    { target: 'local', id: 'orders', on: true },
    { target: 'local', id: 'orders', on: false },
  ])
})

t.test('an endpoint in maintenance is draining, and panic routing never uses it', async (t) => {
  const clock = new ManualClock()
  const s = new ServiceEndpoints({ name: 'svc', panicThreshold: 50, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now() })
  s.apply('static', [info(1), info(2)])
  const [one, two] = [s.get('127.0.0.1:1')!, s.get('127.0.0.1:2')!]
  one.maintenance = true
  s.refresh()
  t.same(one.eligibility(clock.now()), { eligible: false, state: 'draining', reason: 'maintenance' })
  t.same(s.snapshot.eligible, [two], 'only the other one is picked')
  t.notOk(s.snapshot.panic, 'maintenance is not unhealthiness: no panic with the other healthy')

  two.activeHealth = 'unhealthy'
  s.refresh()
  t.ok(s.snapshot.panic, 'the only serving endpoint is unhealthy: panic')
  t.same(s.snapshot.eligible, [two], 'panic routing uses the unhealthy one, never the one in maintenance')

  one.maintenance = false
  s.refresh()
  t.same(s.snapshot.eligible, [one], 'back after maintenance')
})

t.test('maintenance announced by the endpoint node (gossip) takes it out everywhere, with its reason', async (t) => {
  const clock = new ManualClock()
  const s = new ServiceEndpoints({ name: 'svc', panicThreshold: 0, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now() })
  s.apply('gossip', [info(1, { node: 'b', maintenance: true }), info(2, { node: 'c' })])
  const ep = s.get('127.0.0.1:1')!
  t.ok(ep.reportedMaintenance)
  t.same(ep.eligibility(clock.now()), { eligible: false, state: 'draining', reason: 'maintenance (announced by node b)' })
  t.same(s.snapshot.eligible.map((e) => e.port), [2])
  // also configured statically: the gossip flag still counts
  s.apply('static', [info(1)])
  t.ok(s.get('127.0.0.1:1')!.inMaintenance, 'static and gossip: the announced maintenance holds')
  s.apply('gossip', [info(1, { node: 'b' }), info(2, { node: 'c' })])
  t.notOk(ep.inMaintenance, 'cleared by the next announcement')
  t.same(s.snapshot.eligible.map((e) => e.port), [1, 2])
  t.same(new Endpoint('svc', info(3), 'static', 1000).maintenance, false)
})

t.test('the flag in announcements, discovery and on the wire', async (t) => {
  const services = [
    { name: 'orders', host: '127.0.0.1', port: 9000, weight: 1, tags: [], healthCheck: undefined },
    { name: 'users', host: '127.0.0.1', port: 9001, weight: 1, tags: [], healthCheck: undefined },
  ] as unknown as Parameters<typeof localAnnouncements>[0]
  const plain = localAnnouncements(services, () => 'healthy')
  const maint = localAnnouncements(services, () => 'healthy', undefined, (s) => s === 'orders')
  t.same(maint.services.map((s) => s.maintenance), [true, undefined], 'only the service in maintenance carries it')
  t.notOk(sameMeta(plain, maint), 'a maintenance change is a metadata change (new incarnation)')
  const tls = localAnnouncements(services, () => 'healthy', { host: '10.0.0.1', port: 15006 }, () => true)
  t.match(tls.services[0], { mtls: true, maintenance: true, port: 15006 })

  const alive = (meta: typeof plain): Message => ({ type: 'alive', name: 'b', incarnation: 4, host: '127.0.0.1', port: 7946, zone: '', adminAddress: '', meta })
  const round = decodePacket(encodePacket([encodeMessage(alive(tls))]))
  t.ok(round.ok && round.messages[0]!.type === 'alive')
  if (round.ok) t.same(round.messages[0], alive(tls), 'maintenance and mtls survive the round trip')
  const before = encodeMessage(alive(plain))
  const withFlag = encodeMessage(alive(maint))
  t.equal(before.length, withFlag.length, 'same layout: one flag bit')
  const diff = [...before].flatMap((b, i) => (b === withFlag[i] ? [] : [i]))
  t.equal(diff.length, 1, 'exactly one byte differs')
  const flagged = withFlag[diff[0]!]!
  t.equal(flagged, 0x40 | 1, 'bit 6 on the health byte (healthy = 1)')
  t.ok((flagged & 0x7f) >= 3, "an old node's health mask (0x7f) reads an invalid value and drops the frame: it never misreads maintenance")
  const bad = Buffer.from(encodePacket([withFlag]))
  bad[1 + diff[0]!] = 0x43 // the flag on an invalid health value
  t.notOk(decodePacket(bad).ok, 'an invalid health value under the flag is refused')

  const members: MemberInfo[] = [{ name: 'b', address: '127.0.0.1:7946', state: 'alive', incarnation: 4, zone: undefined, meta: maint, self: false } as unknown as MemberInfo]
  const d = new GossipDiscovery({ members: () => members, on: () => () => {} })
  const updates: DiscoveryUpdate[] = []
  d.start()
  d.subscribe((u) => updates.push(u))
  t.match(updates.find((u) => u.service === 'orders')!.endpoints, [{ port: 9000, maintenance: true, node: 'b' }])
  t.notOk('maintenance' in updates.find((u) => u.service === 'users')!.endpoints[0]!, 'no flag: no key (previous shape)')
  d.stop()
})

t.test('Membership pause and rejoin: left everywhere, then alive again at a higher incarnation', async (t) => {
  const c = new TestCluster()
  for (const n of ['a', 'b', 'c']) c.add(n)
  await c.startAll()
  t.ok((await c.runUntil(() => c.allSee(['a', 'b', 'c'], 'alive'), 20 * localGossipConfig().probeIntervalMs)) >= 0, 'converged')
  const b = c.node('b').membership
  const others = c.running().filter((n) => n.name !== 'b')
  const paused = b.pause()
  t.ok((await c.runUntil(() => c.allSee(['b'], 'left', others), 1000, 5)) >= 0, 'left everywhere within a second')
  await c.run(1100)
  await paused
  const inc = b.incarnationOf('b')!
  await c.run(500)
  t.equal(b.stateOf('b'), 'left', 'stays left while paused (nothing refutes it)')
  b.setLocalMeta({ services: [{ name: 'web', host: '127.0.0.1', port: 80, weight: 1, tags: [], health: 'healthy' }] })
  const rejoined = b.rejoin()
  const ms = await c.runUntil(() => c.allSee(['b'], 'alive', others), 2000, 5)
  await rejoined
  t.ok(ms >= 0, `alive everywhere ${ms} ms after rejoin`)
  t.ok(b.incarnationOf('b')! > inc, 'at a higher incarnation')
  t.same(others.map((n) => n.membership.member('b')!.meta.services.map((s) => s.name)), [['web'], ['web']], 'with the metadata set while paused')
  await b.rejoin() // not paused: nothing
  await c.stopAll()
  await c.run(1100)
  t.equal(c.clock.pending(), 0, 'no timers left')
})
