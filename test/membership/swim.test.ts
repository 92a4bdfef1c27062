/**
 * The protocol on the in-memory network with a virtual clock (deterministic, seeded): join and
 * convergence, failure detection within the bound the settings imply, refutation, Lifeguard's
 * shrinking suspicion, tombstones against stale gossip, graceful leave, restart rejoin,
 * mass restart, and a 2|3 partition that heals.
 */
import t from 'tap'
import { detectionBound } from '../../src/membership/bounds.js'
import { encodeMessage, encodePacket } from '../../src/membership/codec.js'
import { Envelope } from '../../src/membership/envelope.js'
import type { MemberInfo } from '../../src/membership/swim.js'
import { localGossipConfig, TestCluster } from '../helpers/gossip-cluster.js'

const NAMES = ['a', 'b', 'c', 'd', 'e']
const T = localGossipConfig().probeIntervalMs

async function cluster(names: readonly string[] = NAMES, opts: ConstructorParameters<typeof TestCluster>[0] = {}): Promise<TestCluster> {
  const c = new TestCluster(opts)
  for (const n of names) c.add(n)
  await c.startAll()
  const ms = await c.runUntil(() => c.allSee(names, 'alive'), 20 * T)
  if (ms < 0) throw new Error(`cluster did not converge: ${JSON.stringify(c.views())}`)
  return c
}

/** Records every state each node reports for `name`. */
function watch(c: TestCluster, name: string): { node: string; state: string; incarnation: number; at: number }[] {
  const seen: { node: string; state: string; incarnation: number; at: number }[] = []
  for (const n of c.nodes.values()) {
    n.membership.on('change', (m: MemberInfo) => {
      if (m.name === name) seen.push({ node: n.name, state: m.state, incarnation: m.incarnation, at: c.clock.now() })
    })
  }
  return seen
}

t.test('nodes joining through one seed converge to the same member list', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
  const c = new TestCluster()
  for (const n of names) c.add(n)
  await c.startAll()
  // gossip spreads each join λ·ceil(log10(n+1)) = 2 times per node here, which usually but not
  // always reaches everyone; the periodic push-pull (5 s ±25%) guarantees the rest
  const bound = 1.25 * localGossipConfig().pushPullIntervalMs + 10 * T
  const ms = await c.runUntil(() => c.allSee(names, 'alive'), bound)
  t.ok(ms >= 0 && ms <= bound, `converged in ${ms} ms (bound ${bound} ms)`)
  const views = c.views()
  t.ok(views.every((v) => JSON.stringify(v) === JSON.stringify(views[0])), 'identical views')
  t.ok([...c.nodes.values()].every((n) => n.membership.joined), 'every node reports joined')
  await c.stopAll()
})

t.test('a crashed node is suspected, then dead everywhere, within the bound the settings imply', async (t) => {
  const c = await cluster()
  const bound = detectionBound(localGossipConfig(), NAMES.length)
  t.equal(bound.deadEverywhereWithinMs, 5600, 'local profile, n = 5: 1.4 s to the first probe + 0.2 s probe + 3.6 s max suspicion + 0.4 s gossip')
  const seen = watch(c, 'd')
  const start = c.clock.now()
  c.node('d').net.crash()
  const others = c.running()
  const ms = await c.runUntil(() => c.allSee(['d'], 'dead', others), bound.deadEverywhereWithinMs)
  t.ok(ms >= 0, `dead everywhere after ${ms} ms (bound ${bound.deadEverywhereWithinMs} ms)`)
  const firstSuspect = seen.find((s) => s.state === 'suspect')
  t.ok(firstSuspect, 'suspected first')
  t.ok(firstSuspect!.at - start <= bound.suspectWithinMs, `suspect after ${firstSuspect!.at - start} ms (bound ${bound.suspectWithinMs} ms)`)
  t.notOk(seen.some((s) => s.node !== 'd' && s.state === 'dead' && s.at < firstSuspect!.at), 'never dead before suspect')
  await c.stopAll()
})

t.test('Lifeguard: independent confirmations shorten the suspicion towards its minimum', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']
  const c = await cluster(names)
  const bound = detectionBound(localGossipConfig(), names.length)
  const seen = watch(c, 'j')
  c.node('j').net.crash()
  await c.runUntil(() => c.allSee(['j'], 'dead', c.running()), bound.deadEverywhereWithinMs)
  const suspectAt = seen.find((s) => s.state === 'suspect')!.at
  const deadAt = seen.find((s) => s.state === 'dead')!.at
  t.ok(deadAt - suspectAt < bound.suspicionMaxMs / 2, `dead ${deadAt - suspectAt} ms after the first suspicion (max ${bound.suspicionMaxMs}, min ${bound.suspicionMinMs})`)
  t.ok(deadAt - suspectAt >= bound.suspicionMinMs, 'never under the minimum')
  await c.stopAll()
})

t.test('without Lifeguard the suspicion timeout is fixed at its minimum', async (t) => {
  const c = await cluster(NAMES, { config: { lifeguard: false } })
  const bound = detectionBound({ ...localGossipConfig(), lifeguard: false }, NAMES.length)
  t.equal(bound.suspicionMinMs, bound.suspicionMaxMs)
  const seen = watch(c, 'e')
  c.node('e').net.crash()
  await c.runUntil(() => c.allSee(['e'], 'dead', c.running()), bound.deadEverywhereWithinMs)
  const suspectAt = seen.find((s) => s.state === 'suspect')!.at
  const deadAt = seen.find((s) => s.state === 'dead')!.at
  t.ok(Math.abs(deadAt - suspectAt - bound.suspicionMinMs) <= 50, `dead ${deadAt - suspectAt} ms after suspicion (${bound.suspicionMinMs})`)
  await c.stopAll()
})

t.test('a stalled node that wakes before its suspicion times out refutes and stays alive', async (t) => {
  const c = await cluster()
  const seen = watch(c, 'c')
  const target = c.node('c')
  c.network.stall(target.net.address, 60_000) // SIGSTOP
  const suspectedIn = await c.runUntil(() => seen.some((s) => s.state === 'suspect'), 20 * T, 1)
  t.ok(suspectedIn >= 0, `suspected after ${suspectedIn} ms`)
  c.network.resume(target.net.address) // SIGCONT
  await c.run(20 * T)
  t.notOk(
    seen.some((s) => s.state === 'dead'),
    'never declared dead',
  )
  t.ok(c.allSee(['c'], 'alive'), 'alive everywhere')
  t.ok(target.membership.incarnationOf('c')! >= 1, `refuted with incarnation ${target.membership.incarnationOf('c')}`)
  t.ok(target.membership.counters.refutations >= 1, 'counted the refutation')
  t.ok(
    [...c.nodes.values()].every((n) => n.membership.incarnationOf('c') === target.membership.incarnationOf('c')),
    'everyone holds the refuting incarnation',
  )
  await c.stopAll()
})

t.test('graceful leave: gone everywhere within one second', async (t) => {
  const c = await cluster()
  const leaver = c.node('b')
  const stopped = leaver.membership.stop()
  const others = c.running().filter((n) => n.name !== 'b')
  const ms = await c.runUntil(() => c.allSee(['b'], 'left', others), 1000, 5)
  t.ok(ms >= 0 && ms <= 1000, `left everywhere after ${ms} ms`)
  await c.runUntil(() => false, 1100)
  await stopped
  t.equal(leaver.membership.stateOf('b'), 'left', 'the leaver marks itself left')
  await c.stopAll()
})

t.test('tombstones: stale gossip cannot resurrect a member until the tombstone is reaped', async (t) => {
  const c = await cluster(NAMES, { config: { tombstoneTimeoutMs: 3000 } })
  const x = c.node('e')
  const before = x.membership.member('e')!
  await (async () => {
    const p = x.membership.stop()
    await c.runUntil(() => false, 1100)
    await p
  })()
  const a = c.node('a')
  t.equal(a.membership.stateOf('e'), 'left')
  // a stale alive (the incarnation e left with), as an old packet still in flight would carry it
  const env = new Envelope({ keys: [], cluster: 'test', wallNow: () => c.clock.wallNow() })
  const stale = encodeMessage({ type: 'alive', name: 'e', incarnation: before.incarnation, host: before.host, port: before.port, zone: '', adminAddress: '', meta: before.meta })
  c.network.inject(c.node('b').net.address, a.net.address, env.seal(encodePacket([stale]), 'packet'))
  await c.run(50)
  t.equal(a.membership.stateOf('e'), 'left', 'stale alive ignored while the tombstone stands')
  await c.run(4000 + 1000)
  t.equal(a.membership.member('e'), undefined, 'tombstone reaped after tombstoneTimeout')
  await c.stopAll()
})

t.test('a restarted node (same name, new process, incarnation 0) rejoins cleanly', async (t) => {
  const c = await cluster()
  const old = c.node('c')
  const addr = old.net.address
  old.net.crash()
  const others = c.running()
  await c.runUntil(() => c.allSee(['c'], 'dead', others), 10_000)
  t.ok(c.allSee(['c'], 'dead', others), 'c is dead everywhere')
  const deadInc = c.node('a').membership.incarnationOf('c')!
  // same name, same address, fresh state
  const fresh = c.add('c', { port: addr.port })
  t.equal(fresh.membership.incarnationOf('c'), undefined)
  const p = fresh.membership.start()
  const ms = await c.runUntil(() => c.allSee(NAMES, 'alive'), 10 * T)
  await p
  t.ok(ms >= 0 && ms <= 10 * T, `alive everywhere ${ms} ms after the restart`)
  t.ok(fresh.membership.incarnationOf('c')! > deadInc, `refuted its old death with incarnation ${fresh.membership.incarnationOf('c')}`)
  await c.stopAll()
})

t.test('a restarted node on a new port rejoins and everyone follows the new address', async (t) => {
  const c = await cluster()
  c.node('d').net.crash()
  const fresh = c.add('d') // new port
  const p = fresh.membership.start()
  const ms = await c.runUntil(
    () => c.allSee(NAMES, 'alive') && c.running().every((n) => n.membership.member('d')!.port === fresh.net.address.port),
    10 * T,
  )
  await p
  t.ok(ms >= 0, `alive at the new address everywhere after ${ms} ms`)
  await c.stopAll()
})

t.test('mass restart: all five restarted within 2 s are alive everywhere within 10 protocol periods', async (t) => {
  const c = await cluster()
  const ports = new Map(NAMES.map((n) => [n, c.node(n).net.address.port]))
  const starts: Promise<void>[] = []
  for (const n of NAMES) {
    c.node(n).net.crash()
    await c.run(300) // down long enough to be probed and suspected
    const fresh = c.add(n, { port: ports.get(n)!, config: { seeds: NAMES.filter((m) => m !== n).map((m) => `mem:${ports.get(m)}`) } })
    starts.push(fresh.membership.start())
    await c.run(100)
  }
  const ms = await c.runUntil(() => c.allSee(NAMES, 'alive'), 10 * T)
  await Promise.all(starts)
  t.ok(ms >= 0 && ms <= 10 * T, `all alive everywhere ${ms} ms after the last restart: ${JSON.stringify(c.views())}`)
  await c.run(20 * T)
  t.ok(c.allSee(NAMES, 'alive'), 'and they stay alive (none stuck dead)')
  await c.stopAll()
})

t.test('a 2|3 partition: each side declares the other dead, then one identical list after it heals', async (t) => {
  const c = await cluster(NAMES, { config: { pushPullIntervalMs: 2000 } })
  const side1 = ['a', 'b']
  const side2 = ['c', 'd', 'e']
  c.network.partition([side1.map((n) => c.node(n).net.address), side2.map((n) => c.node(n).net.address)])
  const n1 = side1.map((n) => c.node(n))
  const n2 = side2.map((n) => c.node(n))
  const split = await c.runUntil(() => c.allSee(side2, 'dead', n1) && c.allSee(side1, 'dead', n2), 30_000, 20)
  t.ok(split >= 0, `each side sees the other dead after ${split} ms`)
  c.network.heal()
  const healed = await c.runUntil(() => c.allSee(NAMES, 'alive'), 30_000, 20)
  t.ok(healed >= 0, `healed in ${healed} ms`)
  const views = c.views()
  t.ok(views.every((v) => JSON.stringify(v) === JSON.stringify(views[0])), `identical lists: ${JSON.stringify(views[0])}`)
  await c.stopAll()
})

t.test('metadata updates win over stale data and reach everyone', async (t) => {
  const c = await cluster()
  const updates: string[] = []
  c.node('a').membership.on('update', (m) => updates.push(`${m.name}@${m.incarnation}`))
  c.node('b').membership.setLocalMeta({ services: [{ name: 'web', host: '10.0.0.2', port: 8080, weight: 3, tags: ['v2'], health: 'healthy' }] })
  const ms = await c.runUntil(() => c.running().every((n) => n.membership.member('b')!.meta.services[0]?.port === 8080), 10 * T)
  t.ok(ms >= 0, `meta everywhere after ${ms} ms`)
  t.same(updates, ['b@1'])
  t.throws(
    () => c.node('b').membership.setLocalMeta({ services: Array.from({ length: 60 }, (_, i) => ({ name: `svc-${i}-with-a-long-name`, host: 'host.example', port: i + 1, weight: 1, tags: ['a', 'b'], health: 'unknown' as const })) }),
    { code: 'COMMY_ERR_GOSSIP_META' },
    'metadata that cannot fit a packet is refused',
  )
  await c.stopAll()
})

t.test('stop() is idempotent and leaves no timer behind', async (t) => {
  const c = await cluster(['a', 'b'])
  const a = c.node('a').membership
  const p1 = a.stop()
  const p2 = a.stop()
  t.equal(p1, p2)
  await c.runUntil(() => false, 1100)
  await p1
  await c.node('b').membership.halt()
  await c.run(10)
  t.equal(c.clock.pending(), 0, 'no timers left on the clock')
})
