/**
 * Seeds through real DNS: a small DNS server on 127.0.0.1 (test/helpers/dns-server.ts) serving A,
 * AAAA and SRV records, read by a node:dns Resolver pointed at it. `dns+srv:NAME` seeds give every
 * SRV target's addresses with the record's port; `host:port` names give A and AAAA; and a real node
 * (UDP/TCP on loopback) resolves its seed again on every join attempt, so it joins once the
 * record appears — as a headless Service's pods appear in DNS.
 */
import t, { type Test } from 'tap'
import { seededRandom, systemClock } from '../../src/clock.js'
import type { GossipConfig } from '../../src/config/types.js'
import { resolverSeedResolver, systemSeedResolver, type SeedResolver } from '../../src/membership/seed-resolver.js'
import { resolveSeeds } from '../../src/membership/seeds.js'
import { Membership } from '../../src/membership/swim.js'
import { UdpTransport } from '../../src/membership/udp-transport.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { localGossipConfig, silentLogger } from '../helpers/gossip-cluster.js'
import { until } from '../helpers/runtime.js'

const SRV = '_gossip._udp.commy.mesh.test'

async function node(t: Test, name: string, cfg: GossipConfig, resolver?: SeedResolver): Promise<Membership> {
  const m = new Membership({
    config: cfg,
    node: { name },
    transport: new UdpTransport({ listen: { host: '127.0.0.1', port: 0 } }),
    clock: systemClock,
    random: seededRandom(name.charCodeAt(0)),
    logger: silentLogger,
    ...(resolver ? { resolver } : {}),
  })
  t.teardown(() => m.halt())
  await m.start()
  return m
}

t.test('SRV records: every target (A and AAAA) at its record port; host names: A and AAAA', async (t) => {
  const dns = await startDnsServer({
    SRV: { [SRV]: [{ target: 'pod-a.commy.mesh.test', port: 7946 }, { target: 'pod-b.commy.mesh.test', port: 7947 }, { target: 'gone.commy.mesh.test', port: 9 }] },
    A: { 'pod-a.commy.mesh.test': ['127.0.0.10'], 'pod-b.commy.mesh.test': ['127.0.0.11'], 'seed.mesh.test': ['127.0.0.12'] },
    AAAA: { 'pod-b.commy.mesh.test': ['::1'], 'seed.mesh.test': ['::1'], 'v6only.mesh.test': ['fd00::1'] },
  })
  t.teardown(() => dns.stop())
  const resolver = resolverSeedResolver(dns.resolver())
  const srv = await resolveSeeds([`dns+srv:${SRV}`], resolver)
  t.same(srv.map((a) => `${a.host}:${a.port}`).sort(), ['127.0.0.10:7946', '127.0.0.11:7947', '::1:7947'], 'a target without records gives nothing')
  const named = await resolveSeeds(['seed.mesh.test:7000', 'v6only.mesh.test:7001', 'nothing.mesh.test:7002', 'dns+srv:_none.mesh.test'], resolver)
  t.same(named.map((a) => `${a.host}:${a.port}`).sort(), ['127.0.0.12:7000', '::1:7000', 'fd00::1:7001'], 'A and AAAA; unknown names skipped')
  t.ok(dns.queries('AAAA', 'seed.mesh.test') >= 1, 'AAAA asked for a host:port seed')
})

t.test('the system resolver (no config): dns.lookup with every family (localhost, from /etc/hosts: no DNS traffic)', async (t) => {
  const addresses = await systemSeedResolver().addresses('localhost')
  t.ok(addresses.includes('127.0.0.1') || addresses.includes('::1'), `localhost: ${addresses.join(', ')}`)
})

t.test('a dns+srv seed is resolved again on every join attempt: the node serves alone, then joins when the SRV record appears', async (t) => {
  const dns = await startDnsServer({})
  t.teardown(() => dns.stop())
  const resolver = resolverSeedResolver(dns.resolver())
  const a = await node(t, 'a', localGossipConfig())
  const b = await node(t, 'b', localGossipConfig({ seeds: [`dns+srv:${SRV}`] }), resolver)
  t.match(b.joinStatus, { kind: 'alone', why: 'unresolved' }, 'no record yet: a cluster of one at once')
  const before = dns.queries('SRV', SRV)
  t.ok(await until(() => dns.queries('SRV', SRV) >= before + 2, 5000), 'asked again on later attempts')
  dns.set({ SRV: { [SRV]: [{ target: 'pod-a.commy.mesh.test', port: a.address!.port }] }, A: { 'pod-a.commy.mesh.test': ['127.0.0.1'] } })
  t.ok(await until(() => b.joinStatus.kind === 'joined' && a.stateOf('b') === 'alive' && b.stateOf('a') === 'alive', 15_000), 'joined through the SRV record')
})
