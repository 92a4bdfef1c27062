/** The small mechanisms alone: suspicion timer, local health, broadcast queue, member table, virtual clock. */
import t from 'tap'
import { ManualClock, seededRandom } from '../../src/clock.js'
import { Awareness, FixedHealth } from '../../src/membership/awareness.js'
import { BroadcastQueue, retransmitLimit } from '../../src/membership/broadcast-queue.js'
import { EMPTY_META, type Member } from '../../src/membership/member.js'
import { MemberTable } from '../../src/membership/member-table.js'
import { Suspicion, suspicionTimeouts } from '../../src/membership/suspicion.js'
import { MemoryNetwork } from '../../src/membership/memory-network.js'

const cfg = { suspicionMult: 4, suspicionMaxTimeoutMult: 6, probeIntervalMs: 1000, lifeguard: true }

t.test('suspicion bounds scale with log10 n; Lifeguard off pins them to the minimum', async (t) => {
  t.same(suspicionTimeouts(5, cfg), { minMs: 4000, maxMs: 24_000, k: 2 })
  t.same(suspicionTimeouts(1000, cfg), { minMs: 12_000, maxMs: 72_000, k: 2 })
  t.same(suspicionTimeouts(3, cfg), { minMs: 4000, maxMs: 24_000, k: 0 }, 'too few members to confirm')
  t.same(suspicionTimeouts(100, { ...cfg, lifeguard: false }), { minMs: 8000, maxMs: 8000, k: 0 })
})

t.test('suspicion timer: max without confirmations, shrinking log-scaled with each, min at k', async (t) => {
  const fire = (confirmAt: number[]): number => {
    const clock = new ManualClock()
    let firedAt = -1
    const s = new Suspicion('a', { minMs: 1000, maxMs: 6000, k: 3 }, clock, () => (firedAt = clock.now()))
    confirmAt.forEach((at, i) => clock.setTimer(() => s.confirm(`c${i}`), at))
    clock.advance(10_000)
    return firedAt
  }
  t.equal(fire([]), 6000, 'no confirmation: the maximum')
  // one of three: 6000 − 5000·log(2)/log(4) = 3500
  t.equal(fire([100]), 3500)
  t.equal(fire([100, 200]), Math.floor(6000 - (5000 * Math.log(3)) / Math.log(4)))
  t.equal(fire([100, 200, 300]), 1000, 'k confirmations: the minimum')
  t.equal(fire([100, 200, 300, 400]), 1000, 'more than k change nothing')
  t.equal(fire([100, 3000]), 3000, 'a confirmation past the new, shorter deadline fires at once')

  const clock = new ManualClock()
  const s = new Suspicion('a', { minMs: 1000, maxMs: 6000, k: 3 }, clock, () => {})
  t.ok(s.confirm('b'))
  t.notOk(s.confirm('b'), 'the same member twice is one confirmation')
  t.notOk(s.confirm('a'), 'the original suspecter does not confirm itself')
  s.cancel()
  t.notOk(s.confirm('c'), 'cancelled')
  t.equal(clock.pending(), 0)
})

t.test('suspicion timer that fires late (we were stalled) waits once more, with Lifeguard', async (t) => {
  const base = new ManualClock()
  const net = new MemoryNetwork({ clock: base, random: seededRandom(1) })
  const node = net.node()
  let firedAt = -1
  new Suspicion('a', { minMs: 1000, maxMs: 1000, k: 0 }, node.clock, () => (firedAt = base.now()), 200)
  node.clock.stall(3000)
  base.advance(3000)
  t.equal(firedAt, -1, 'woke at 3000, 2000 ms late: grace period instead of a verdict')
  base.advance(200)
  t.equal(firedAt, 3200)
  let plain = -1
  new Suspicion('a', { minMs: 1000, maxMs: 1000, k: 0 }, node.clock, () => (plain = base.now()))
  node.clock.stall(base.now() + 3000)
  base.advance(3000)
  t.equal(plain, 6200, 'without grace it fires as soon as the node runs')
})

t.test('a stalled node runs its due timers first, then the packets that waited (Node event-loop order)', async (t) => {
  const base = new ManualClock()
  const net = new MemoryNetwork({ clock: base, random: seededRandom(1), minDelayMs: 1 })
  const a = net.node()
  const b = net.node()
  const order: string[] = []
  await a.transport.listen({ packet: () => order.push('packet'), exchange: async () => undefined })
  await b.transport.listen({ packet: () => {}, exchange: async () => undefined })
  net.stall(a.address, 1000)
  b.transport.send(a.address, Buffer.from('x'))
  a.clock.setTimer(() => order.push('timer'), 500)
  base.advance(1000)
  t.same(order, ['timer', 'packet'])
  net.stall(a.address, 1000)
  b.transport.send(a.address, Buffer.from('y'))
  base.advance(100)
  net.resume(a.address)
  t.same(order, ['timer', 'packet', 'packet'], 'resume (SIGCONT) delivers at once')
  a.crash()
  b.transport.send(a.address, Buffer.from('z'))
  base.advance(100)
  t.equal(order.length, 3, 'a crashed node gets nothing')
})

t.test('awareness: clamped score scales timeouts; the null object never does', async (t) => {
  const changes: number[] = []
  const a = new Awareness(8, (score) => changes.push(score))
  a.apply(-1)
  t.equal(a.score, 0)
  a.apply(3)
  t.equal(a.scale(100), 400)
  a.apply(20)
  t.equal(a.score, 7, 'at most max − 1')
  a.apply(-2)
  t.same(changes, [3, 7, 5])
  const f = new FixedHealth()
  f.apply(5)
  t.equal(f.scale(100), 100)
})

t.test('broadcast queue: least transmitted first, newest first, replaced by key, dropped at the limit', async (t) => {
  t.equal(retransmitLimit(4, 1000), 16, 'memberlist: 4 · ceil(log10 1001)')
  t.equal(retransmitLimit(2, 5), 6, 'small cluster, low multiplier: the floor ceil(ln 6) + 4')
  t.equal(retransmitLimit(2, 1000), 11, 'floor ceil(ln 1001) + 4 above 2 · 3')
  const q = new BroadcastQueue({ retransmitMult: 1 })
  const msg = (s: string): Uint8Array => Buffer.from(s.padEnd(7, '.'))
  const text = (ms: Uint8Array[]): string[] => ms.map((m) => Buffer.from(m).toString().replace(/\.+$/, ''))
  q.enqueue('a', msg('a1'))
  q.enqueue('b', msg('b1'))
  t.same(text(q.take(10, 0, 7)), ['b1'], 'newest first, budget of one message')
  t.same(text(q.take(10, 0, 100)), ['a1', 'b1'], 'untransmitted before transmitted')
  q.enqueue('a', msg('a2'))
  t.same(text(q.take(10, 0, 100)), ['a2', 'b1'], 'a newer message with the same key replaces the old one')
  const limit = retransmitLimit(1, 10)
  t.equal(limit, 7, 'floor: ceil(ln 11) + 4')
  for (let i = 3; i < limit; i++) q.take(10, 0, 100) // b1 has now gone out `limit` times
  t.same(text(q.take(10, 0, 100)), ['a2'], 'b1 hit its limit and was dropped')
  let done = false
  q.enqueue('c', msg('c1'), () => (done = true))
  for (let i = 0; i < limit; i++) q.take(10, 0, 100)
  t.ok(done, 'onDone runs when the limit is reached')
  t.same(q.take(10, 3, 9), [], 'per-message overhead counts against the budget')
  const big = new BroadcastQueue({ retransmitMult: 4, maxItems: 3 })
  for (const k of ['w', 'x', 'y', 'z']) big.enqueue(k, msg(k))
  t.equal(big.size, 3, 'bounded')
})

t.test('member table: every live member probed once per round, in a shuffled order', async (t) => {
  const table = new MemberTable('me', seededRandom(5))
  const m = (name: string, state: Member['state'] = 'alive'): Member => ({ name, host: 'h', port: 1, state, incarnation: 0, zone: '', adminAddress: '', meta: EMPTY_META, changedAt: 0 })
  table.set(m('me'))
  for (const n of ['a', 'b', 'c', 'd', 'e']) table.set(m(n))
  table.set(m('x', 'dead'))
  t.equal(table.live, 6)
  const round = (): string[] => Array.from({ length: 5 }, () => table.nextProbeTarget()!.name)
  const r1 = round()
  const r2 = round()
  t.same([...r1].sort(), ['a', 'b', 'c', 'd', 'e'], 'each live member once, never self or the dead')
  t.same([...r2].sort(), ['a', 'b', 'c', 'd', 'e'])
  t.notSame(r1, r2, 'reshuffled between rounds')
  table.set(m('c', 'left'))
  table.delete('d')
  const r3 = Array.from({ length: 3 }, () => table.nextProbeTarget()!.name)
  t.same(r3.sort(), ['a', 'b', 'e'], 'left and forgotten members are no longer probed')
  const picked = table.sample(10, (x) => x.state === 'alive')
  t.same(picked.map((x) => x.name).sort(), ['a', 'b', 'e'], 'sampling skips self, the dead and the forgotten')
})

t.test('virtual clock: order, ties, cancel', async (t) => {
  const clock = new ManualClock(10)
  const seen: string[] = []
  clock.setTimer(() => seen.push('b'), 20)
  clock.setTimer(() => seen.push('a'), 10)
  clock.setTimer(() => seen.push('b2'), 20)
  const c = clock.setTimer(() => seen.push('never'), 15)
  c.cancel()
  c.cancel()
  clock.setTimer(() => clock.setTimer(() => seen.push('nested'), 0), 5)
  clock.advance(30)
  t.same(seen, ['nested', 'a', 'b', 'b2'])
  t.equal(clock.now(), 40)
  t.equal(clock.pending(), 0)
})
