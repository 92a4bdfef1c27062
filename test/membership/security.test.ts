/**
 * An encrypted mesh on the memory network: a node with the wrong key (or none) cannot join or
 * inject updates; replayed packets change nothing and are counted; the replay guard is what stops
 * a replayed alive from resurrecting a reaped member (the same replay succeeds in plaintext).
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { encodeMessage, encodePacket } from '../../src/membership/codec.js'
import { Envelope } from '../../src/membership/envelope.js'
import type { HostPort } from '../../src/membership/transport.js'
import { TestCluster } from '../helpers/gossip-cluster.js'

const KEY = randomBytes(32)
const NAMES = ['a', 'b', 'c']

async function mesh(keys: Buffer[], extra: { tombstoneTimeoutMs?: number; replayWindowMs?: number } = {}): Promise<TestCluster> {
  const c = new TestCluster({ seed: 3, config: { keys, ...(extra.tombstoneTimeoutMs ? { tombstoneTimeoutMs: extra.tombstoneTimeoutMs } : {}) } })
  for (const n of NAMES) c.add(n, extra.replayWindowMs ? { extra: { replayWindowMs: extra.replayWindowMs } } : {})
  await c.startAll()
  await c.runUntil(() => c.allSee(NAMES, 'alive'), 4000)
  return c
}

t.test('an encrypted mesh forms', async (t) => {
  const c = await mesh([KEY])
  t.ok(c.allSee(NAMES, 'alive'))
  t.ok(c.node('a').membership.encrypted)
  t.equal(c.node('a').membership.counters.drops.auth, 0)
  await c.stopAll()
})

t.test('a node with the wrong key, or without a key, cannot join or inject', async (t) => {
  const c = await mesh([KEY])
  const intruder = c.add('mallory', { config: { keys: [randomBytes(32)] } })
  const plain = c.add('eve', { config: { keys: [] } })
  await c.start('mallory')
  await c.start('eve')
  await c.run(3000)
  t.notOk(intruder.membership.joined, 'wrong key: join never succeeds')
  t.notOk(plain.membership.joined, 'no key: join never succeeds')
  for (const n of NAMES) {
    t.equal(c.node(n).membership.stateOf('mallory'), undefined, `${n} never learns mallory`)
    t.equal(c.node(n).membership.stateOf('eve'), undefined, `${n} never learns eve`)
  }
  // injected claims: kill b, with the wrong key and in plaintext
  const dead = encodePacket([encodeMessage({ type: 'dead', name: 'b', incarnation: 5, from: 'mallory' })])
  const wrong = new Envelope({ keys: [randomBytes(32)], cluster: 'test', wallNow: () => c.clock.wallNow() })
  const none = new Envelope({ keys: [], cluster: 'test', wallNow: () => c.clock.wallNow() })
  const a = c.node('a')
  const before = a.membership.counters.drops.auth
  c.network.inject(intruder.net.address, a.net.address, wrong.seal(dead, 'packet'))
  c.network.inject(plain.net.address, a.net.address, none.seal(dead, 'packet'))
  await c.run(100)
  t.equal(a.membership.stateOf('b'), 'alive', 'injected death ignored')
  t.ok(a.membership.counters.drops.auth >= before + 2, `auth failures counted (${a.membership.counters.drops.auth})`)
  await c.stopAll()
})

t.test('a mesh with the same key but another cluster name does not mix', async (t) => {
  const c = await mesh([KEY])
  const other = c.add('stranger', { config: { cluster: 'other' } })
  await c.start('stranger')
  await c.run(2000)
  t.notOk(other.membership.joined)
  t.equal(c.node('a').membership.stateOf('stranger'), undefined)
  await c.stopAll()
})

/** Captures delivered packets sent by `from`. */
function capture(c: TestCluster, from: HostPort): { to: HostPort; data: Buffer }[] {
  const out: { to: HostPort; data: Buffer }[] = []
  c.network.onDeliver = (f, to, data) => {
    if (f.host === from.host && f.port === from.port) out.push({ to, data })
  }
  return out
}

async function replayScenario(keys: Buffer[], replayAfterMs: number, replayWindowMs?: number) {
  const c = await mesh(keys, { tombstoneTimeoutMs: 2000, ...(replayWindowMs ? { replayWindowMs } : {}) })
  const x = c.node('c')
  const a = c.node('a')
  // make c announce something so a packet from c to a carries c's alive
  const captured = capture(c, x.net.address)
  x.membership.setLocalMeta({ services: [{ name: 'web', host: '10.0.0.3', port: 80, weight: 1, tags: [], health: 'healthy' }] })
  await c.run(500)
  c.network.onDeliver = undefined
  const toA = captured.filter((p) => p.to.port === a.net.address.port)
  const stop = x.membership.stop()
  await c.runUntil(() => false, 1100)
  await stop
  await c.run(2000 + 3000) // past the tombstone timeout: c is forgotten
  const forgotten = a.membership.stateOf('c') === undefined
  await c.run(replayAfterMs)
  for (const p of toA) c.network.inject(x.net.address, a.net.address, p.data)
  await c.run(100)
  return { c, a, forgotten, replayed: toA.length }
}

t.test('replayed packets change nothing and are counted (replay window)', async (t) => {
  const { c, a, forgotten, replayed } = await replayScenario([KEY], 0)
  t.ok(forgotten, 'the left member was reaped')
  t.ok(replayed > 0, `${replayed} captured packets replayed`)
  t.equal(a.membership.stateOf('c'), undefined, 'the replayed alive did not resurrect it')
  t.ok(a.membership.counters.drops.replay >= replayed, `replays counted: ${a.membership.counters.drops.replay}`)
  await c.stopAll()
})

t.test('packets older than the replay window are refused as stale', async (t) => {
  const { c, a, replayed } = await replayScenario([KEY], 20_000, 10_000)
  t.equal(a.membership.stateOf('c'), undefined)
  t.ok(a.membership.counters.drops.stale >= replayed, `stale counted: ${a.membership.counters.drops.stale}`)
  await c.stopAll()
})

t.test('for contrast: in plaintext the same replay resurrects the reaped member', async (t) => {
  const { c, a, forgotten } = await replayScenario([], 0)
  t.ok(forgotten)
  t.equal(a.membership.stateOf('c'), 'alive', 'without a key there is no replay protection (commy warns at start)')
  await c.stopAll()
})
