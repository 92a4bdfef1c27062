/**
 * Seeds: parsing, DNS names and SRV records through an injected resolver (no real DNS here; see
 * seed-dns.test.ts for a real DNS server), which addresses are this node, backoff, join retry.
 */
import t from 'tap'
import { ManualClock, seededRandom } from '../../src/clock.js'
import type { SeedResolver } from '../../src/membership/seed-resolver.js'
import { Backoff, interfaceAddresses, JoinRetry, joinSeeds, parseSeed, resolveSeeds, selfMatcher } from '../../src/membership/seeds.js'
import { TestCluster } from '../helpers/gossip-cluster.js'

t.test('parseSeed', async (t) => {
  t.same(parseSeed('10.0.0.1:7946'), { kind: 'address', host: '10.0.0.1', port: 7946 })
  t.same(parseSeed('[::1]:7946'), { kind: 'address', host: '::1', port: 7946 })
  t.same(parseSeed('gossip.svc.local:7946'), { kind: 'address', host: 'gossip.svc.local', port: 7946 })
  t.same(parseSeed('dns+srv:_gossip._udp.commy.default.svc.cluster.local'), { kind: 'srv', name: '_gossip._udp.commy.default.svc.cluster.local' })
  t.equal(parseSeed('dns+srv:'), undefined)
  t.equal(parseSeed('dns+srv:a b'), undefined)
  t.equal(parseSeed('nope'), undefined)
  t.equal(parseSeed('host:0'), undefined)
  t.equal(parseSeed(':7946'), undefined)
})

/** A resolver over fixed tables, recording what it was asked. */
function tableResolver(hosts: Record<string, readonly string[]>, srv: Record<string, readonly { target: string; port: number }[]> = {}, asked: string[] = []): SeedResolver {
  return {
    addresses: async (host) => {
      asked.push(host)
      const a = hosts[host]
      if (a === undefined) throw new Error('ENOTFOUND')
      return a
    },
    srv: async (name) => {
      asked.push(`srv ${name}`)
      const r = srv[name]
      if (r === undefined) throw new Error('ENOTFOUND')
      return r
    },
  }
}

t.test('resolveSeeds: IPs as they are, names through the resolver (v4 and v6), failures skipped, duplicates merged', async (t) => {
  const asked: string[] = []
  const resolver = tableResolver({ one: ['127.0.0.1'], pair: ['127.0.0.2', '::1'] }, {}, asked)
  const out = await resolveSeeds(['127.0.0.1:1', 'one:1', 'pair:2', 'broken:3', 'garbage'], resolver)
  t.same(
    out.map((a) => `${a.host}:${a.port}`).sort(),
    ['127.0.0.1:1', '127.0.0.2:2', '::1:2'],
  )
  t.same(asked.sort(), ['broken', 'one', 'pair'], 'IP literals are not looked up')
})

t.test('resolveSeeds: dns+srv seeds give every target address with its record port', async (t) => {
  const resolver = tableResolver(
    { 'pod-a.mesh': ['10.0.0.1'], 'pod-b.mesh': ['10.0.0.2', 'fd00::2'] },
    { _g: [{ target: 'pod-a.mesh', port: 7946 }, { target: 'pod-b.mesh', port: 7947 }, { target: 'gone.mesh', port: 1 }, { target: '10.0.0.9', port: 7 }] },
  )
  const out = await resolveSeeds(['dns+srv:_g', 'dns+srv:_missing', 'pod-a.mesh:7946'], resolver)
  t.same(out.map((a) => `${a.host}:${a.port}`).sort(), ['10.0.0.1:7946', '10.0.0.2:7947', '10.0.0.9:7', 'fd00::2:7947'], 'a target that fails and a name without records give nothing')
})

t.test('selfMatcher: advertised, bound, and on a wildcard bind every local address at the bound port', async (t) => {
  const specific = selfMatcher({ host: '10.0.0.5', port: 7946 }, { host: '10.0.0.5', port: 7946 }, () => ['10.0.0.5', '192.168.1.5'])
  t.ok(specific({ host: '10.0.0.5', port: 7946 }))
  t.notOk(specific({ host: '10.0.0.5', port: 7947 }), 'another port is another node')
  t.notOk(specific({ host: '192.168.1.5', port: 7946 }), 'bound to one address: another interface is not this node')
  t.notOk(specific({ host: '127.0.0.1', port: 7946 }))
  let calls = 0
  const wildcard = selfMatcher({ host: '10.0.0.5', port: 7946 }, { host: '0.0.0.0', port: 7946 }, () => (calls++, ['10.0.0.5', '192.168.1.5', 'fe80::1']))
  t.ok(wildcard({ host: '192.168.1.5', port: 7946 }), 'any interface address')
  t.ok(wildcard({ host: 'fe80::1', port: 7946 }))
  t.ok(wildcard({ host: '127.0.0.1', port: 7946 }), 'loopback')
  t.ok(wildcard({ host: '::1', port: 7946 }))
  t.notOk(wildcard({ host: '10.0.0.6', port: 7946 }), 'another host')
  t.notOk(wildcard({ host: '192.168.1.5', port: 8000 }))
  t.equal(calls, 1, 'interfaces read once per attempt')
  t.ok(interfaceAddresses().includes('127.0.0.1'), 'the default: this host\'s interface addresses')
  const sys = selfMatcher({ host: '10.0.0.5', port: 7946 }, { host: '::', port: 7946 })
  t.ok(sys({ host: '127.0.0.1', port: 7946 }))
  const nat = selfMatcher({ host: '203.0.113.1', port: 17946 }, { host: '10.0.0.5', port: 7946 })
  t.ok(nat({ host: '203.0.113.1', port: 17946 }), 'the advertised address (NAT)')
  t.ok(nat({ host: '10.0.0.5', port: 7946 }), 'the bound address')
})

t.test('joinSeeds: what one attempt found', async (t) => {
  const resolver = tableResolver({ me: ['10.0.0.1'], peer: ['10.0.0.2'], nothing: [] })
  const isSelf = (a: { host: string }) => a.host === '10.0.0.1'
  const answer = async () => true
  const silent = async () => false
  t.same(await joinSeeds([], resolver, isSelf, answer), { kind: 'no-seeds' })
  t.same(await joinSeeds(['gone:1', 'nothing:1'], resolver, isSelf, answer), { kind: 'unresolved' })
  t.same(await joinSeeds(['me:1', '10.0.0.1:1'], resolver, isSelf, answer), { kind: 'only-self' })
  t.same(await joinSeeds(['me:1', 'peer:1'], resolver, isSelf, answer), { kind: 'answered', peers: 1 })
  t.same(await joinSeeds(['me:1', 'peer:1'], resolver, isSelf, silent), { kind: 'silent', tried: 1 })
})

t.test('backoff doubles up to its maximum, with jitter', async (t) => {
  const b = new Backoff(100, 1000, () => 0.5)
  t.same([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000])
  b.reset()
  t.equal(b.next(), 100)
  const j = new Backoff(100, 1000, seededRandom(1))
  for (let i = 0; i < 20; i++) {
    const v = j.next()
    t.ok(v >= 80 && v <= 1200)
  }
})

t.test('join retry: retries with backoff until an attempt succeeds, stoppable', async (t) => {
  const clock = new ManualClock()
  const at: number[] = []
  let answer = false
  const retry = new JoinRetry(clock, new Backoff(100, 1000, () => 0.5), async () => {
    at.push(clock.now())
    return answer
  })
  const run = async (ms: number) => {
    for (let i = 0; i < ms / 10; i++) {
      clock.advance(10)
      await new Promise((r) => setImmediate(r))
    }
  }
  t.equal(await retry.start(), false)
  await run(1500)
  answer = true
  await run(3000)
  t.same(at, [0, 100, 300, 700, 1500, 2500], 'tries at 0, +100, +200, +400, +800, then +1000 (the maximum): success')
  t.notOk(retry.active, 'stops after success')
  const never = new JoinRetry(clock, new Backoff(100, 1000, () => 0.5), async () => false)
  await never.start()
  never.stop()
  t.notOk(never.active)
  t.equal(clock.pending(), 0)
})

t.test('a node whose seed is not up yet joins once it is', async (t) => {
  const c = new TestCluster({ seed: 5 })
  const a = c.add('a')
  const b = c.add('b') // seeds: a
  await c.start('b')
  t.notOk(b.membership.joined, 'the seed does not answer yet')
  await c.run(1000)
  await c.start('a')
  const ms = await c.runUntil(() => b.membership.joined && a.membership.stateOf('b') === 'alive', 10_000)
  t.ok(ms >= 0, `joined ${ms} ms after the seed came up`)
  await c.stopAll()
})
