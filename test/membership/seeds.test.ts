/** Seeds: parsing, DNS names through an injected lookup (no real DNS), backoff, join retry. */
import t from 'tap'
import { ManualClock, seededRandom } from '../../src/clock.js'
import { Backoff, JoinRetry, parseSeed, resolveSeeds } from '../../src/membership/seeds.js'
import { TestCluster } from '../helpers/gossip-cluster.js'

t.test('parseSeed', async (t) => {
  t.same(parseSeed('10.0.0.1:7946'), { host: '10.0.0.1', port: 7946 })
  t.same(parseSeed('[::1]:7946'), { host: '::1', port: 7946 })
  t.same(parseSeed('gossip.svc.local:7946'), { host: 'gossip.svc.local', port: 7946 })
  t.equal(parseSeed('nope'), undefined)
  t.equal(parseSeed('host:0'), undefined)
  t.equal(parseSeed(':7946'), undefined)
})

t.test('resolveSeeds: IPs as they are, names through lookup, failures skipped, duplicates merged', async (t) => {
  const asked: string[] = []
  const lookup = async (host: string) => {
    asked.push(host)
    if (host === 'broken') throw new Error('ENOTFOUND')
    return host === 'pair' ? ['127.0.0.2', '127.0.0.3'] : ['127.0.0.1']
  }
  const out = await resolveSeeds(['127.0.0.1:1', 'one:1', 'pair:2', 'broken:3', 'garbage'], lookup)
  t.same(
    out.map((a) => `${a.host}:${a.port}`).sort(),
    ['127.0.0.1:1', '127.0.0.2:2', '127.0.0.3:2'],
  )
  t.same(asked.sort(), ['broken', 'one', 'pair'], 'IP literals are not looked up')
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
