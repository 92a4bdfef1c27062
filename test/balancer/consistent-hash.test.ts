import t from 'tap'
import { ConsistentHashBalancer } from '../../src/balancer/consistent-hash.js'
import { HashRing, POINTS_PER_WEIGHT, MAX_RING_POINTS, scaleFor } from '../../src/balancer/hash-ring.js'
import type { Balancer } from '../../src/balancer/balancer.js'
import type { Endpoint } from '../../src/endpoint/endpoint.js'
import { seededRandom } from '../../src/clock.js'
import { ctx, endpoint, endpoints } from './compliance.js'

const make = (factor = 0, fallback?: Balancer) =>
  new ConsistentHashBalancer({ service: 'svc', random: seededRandom(1), hashBalanceFactor: factor, ...(fallback ? { fallback } : {}) })
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)
const map = (b: Balancer, eps: readonly Endpoint[], keys = KEYS, now = 0) => keys.map((k) => b.pick(eps, ctx(now, k))!.address)

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const r = seededRandom(seed)
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

t.test('two balancers fed the endpoints in different orders map 10,000 keys identically', async (t) => {
  const eps = endpoints(10)
  const a = make()
  const fromA = map(a, eps)
  // the second one sees them arrive one by one, shuffled, as separate Endpoint objects
  const b = make()
  const copies = shuffled(eps, 7).map((ep) => endpoint(ep.port))
  for (let i = 1; i <= copies.length; i++) b.pick(copies.slice(0, i), ctx(0, 'warm-up'))
  t.same(map(b, copies), fromA)
  t.equal(new Set(fromA).size, 10)
})

t.test('adding an 11th endpoint to 10 moves at most 1.25/11 of keys, all to the new one', async (t) => {
  for (const first of [8000, 9100, 30000]) {
    const eps = endpoints(11, {}, first)
    const b = make()
    const before = map(b, eps.slice(0, 10))
    const after = map(b, eps)
    const newcomer = eps[10]!.address
    let moved = 0
    let elsewhere = 0
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === after[i]) continue
      moved++
      if (after[i] !== newcomer) elsewhere++
    }
    t.ok(moved / KEYS.length <= 1.25 / 11, `ports ${first}..: ${(moved / KEYS.length).toFixed(4)} of keys moved (limit ${(1.25 / 11).toFixed(4)})`)
    t.ok(moved > 0, 'the newcomer takes keys')
    t.equal(elsewhere, 0, 'moved keys all went to the new endpoint')
  }
})

t.test('removing an endpoint moves only its keys', async (t) => {
  const eps = endpoints(10)
  const b = make()
  const before = map(b, eps)
  const gone = eps[3]!
  const rest = eps.filter((ep) => ep !== gone)
  // twice: first a subset of the ring (skipped while walking), then a real rebuild after a change
  for (const label of ['skipped', 'rebuilt']) {
    if (label === 'rebuilt') b.pick([...rest, endpoint(1)], ctx(0, 'x')) // a change that syncs the ring
    const after = map(b, rest)
    let movedOthers = 0
    let movedOwn = 0
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === gone.address) movedOwn++
      else if (before[i] !== after[i]) movedOthers++
    }
    t.equal(movedOthers, 0, `${label}: keys of other endpoints stay`)
    t.ok(movedOwn > 700, `${label}: its ${movedOwn} keys moved`)
  }
})

t.test('a retry that excludes the tried endpoint gets the same answer as a ring without it', async (t) => {
  const eps = endpoints(6)
  const b = make()
  // one balancer per excluded endpoint, built on the other five
  const without = new Map(eps.map((ep) => [ep, { list: eps.filter((x) => x !== ep), balancer: make() }]))
  for (let i = 0; i < 2000; i++) {
    const key = `k${i}`
    const first = b.pick(eps, ctx(0, key))!
    const rest = eps.filter((ep) => ep !== first) // a fresh array, as a retry would build
    const retry = b.pick(rest, ctx(0, key))!
    const w = without.get(first)!
    if (retry === first || retry.address !== w.balancer.pick(w.list, ctx(0, key))!.address) return t.fail(`key ${key}`)
  }
  t.pass('2000 retries agree')
})

t.test('weights are honoured within 10%', async (t) => {
  for (const weights of [[1, 2, 3, 4], [5, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]) {
    const eps = weights.map((w, i) => endpoint(7000 + i, { weight: w }))
    const b = make()
    const n = 100_000
    const counts = new Map<string, number>()
    for (let i = 0; i < n; i++) {
      const a = b.pick(eps, ctx(0, `session-${i}`))!.address
      counts.set(a, (counts.get(a) ?? 0) + 1)
    }
    const total = weights.reduce((a, c) => a + c, 0)
    const devs = eps.map((ep, i) => (counts.get(ep.address) ?? 0) / n / (weights[i]! / total) - 1)
    const worst = Math.max(...devs.map(Math.abs))
    t.ok(worst <= 0.1, `weights ${weights.join(',')}: worst deviation ${(worst * 100).toFixed(1)}%`)
  }
})

t.test('weight-0 endpoints own no keys', async (t) => {
  const eps = [endpoint(1), endpoint(2, { weight: 0 }), endpoint(3)]
  const b = make()
  t.notOk(map(b, eps, KEYS.slice(0, 2000)).includes(eps[1]!.address))
  t.equal(make().pick([endpoint(4, { weight: 0 })], ctx(0, 'k')), undefined)
})

t.test('bounded loads: no endpoint above ceil(c × (total + 1) / n) in flight', async (t) => {
  const factor = 1.25
  const eps = endpoints(8)
  const b = make(factor)
  const unbounded = make()
  // 800 requests for 3 hot keys that never finish
  let violations = 0
  for (let i = 0; i < 800; i++) {
    const key = `hot-${i % 3}`
    const total = eps.reduce((s, ep) => s + ep.inFlight, 0)
    const ep = b.pick(eps, ctx(0, key))!
    if (ep.inFlight + 1 > Math.ceil((factor * (total + 1)) / eps.length)) violations++
    ep.inFlight++
  }
  t.equal(violations, 0, 'every pick within the bound')
  const max = Math.max(...eps.map((ep) => ep.inFlight))
  t.ok(max <= Math.ceil(factor * (800 / 8)), `max in flight ${max} <= 1.25 × mean 100`)
  const spread = new Set(eps.filter((ep) => ep.inFlight > 0)).size
  t.ok(spread >= 6, `load spilled over ${spread} endpoints`)
  // without the bound, the 3 hot keys stay on at most 3 endpoints
  for (const ep of eps) ep.inFlight = 0
  const homes = new Set(['hot-0', 'hot-1', 'hot-2'].map((k) => unbounded.pick(eps, ctx(0, k))))
  t.ok(homes.size <= 3)
  // idle endpoints always accept: the key's own endpoint when nothing is in flight
  t.equal(b.pick(eps, ctx(0, 'hot-0')), unbounded.pick(eps, ctx(0, 'hot-0')))
})

t.test('slow start: a warming endpoint takes a growing share of its keys, and keeps them', async (t) => {
  const eps = endpoints(10)
  const warm = endpoint(9999)
  warm.slowStartMs = 10_000
  warm.warmingSince = 0
  const all = [...eps, warm]
  const b = make()
  const reference = map(make(), all, KEYS, 20_000) // fully warm
  const without = map(make(), eps) // where its keys go while it declines them
  const own = reference.filter((a) => a === warm.address).length
  let previous = new Set<number>()
  for (const [now, f] of [[1000, 0.1], [5000, 0.5], [8000, 0.8], [10_000, 1]] as const) {
    const got = map(b, all, KEYS, now)
    const mine = new Set<number>()
    got.forEach((a, i) => a === warm.address && mine.add(i))
    t.ok(Math.abs(mine.size / own - f) < 0.06, `at ${now} ms: ${mine.size} of its ${own} keys (${(f * 100).toFixed(0)}% expected)`)
    t.ok([...previous].every((i) => mine.has(i)), 'keys it already had stay with it')
    const strays = got.filter((a, i) => a !== reference[i] && (reference[i] !== warm.address || a !== without[i])).length
    t.equal(strays, 0, 'declined keys go to the next endpoint on the ring, nothing else moves')
    previous = mine
  }
})

t.test('requests without a key use the fallback (round robin by default)', async (t) => {
  const eps = endpoints(3)
  const rr = make()
  t.same([0, 1, 2, 3].map(() => rr.pick(eps, ctx())!.port), [8000, 8001, 8002, 8000])
  const last: Balancer = { name: 'last', pick: (c) => c[c.length - 1] }
  const b = make(0, last)
  t.equal(b.pick(eps, ctx()), eps[2])
  t.match(b.explain(eps, ctx()).note, /fallback last/)
})

t.test('explain ranks candidates by ring order from the key', async (t) => {
  const eps = endpoints(5)
  const b = make(1.5)
  const e = b.explain(eps, ctx(0, 'user-42'))
  const owner = b.pick(eps, ctx(0, 'user-42'))!
  t.equal(e.scores.find((s) => s.score === 0)!.address, owner.address)
  t.same([...e.scores.map((s) => s.score)].sort(), [0, 1, 2, 3, 4])
  t.match(e.note, /bounded loads/)
  t.same(b.explain([], ctx(0, 'user-42')).scores, [])
  t.same(b.explain([endpoint(9, { weight: 0 })], ctx(0, 'user-42')).scores, [{ address: '10.0.0.1:9', score: -1 }])
})

t.test('ring: contested points are resolved the same way whatever the history', async (t) => {
  // 300 endpoints: the ring is capped (131,072 points), which makes collisions certain
  const eps = Array.from({ length: 300 }, (_, i) => endpoint(20_000 + i, { host: `10.1.${i % 7}.${i}` }))
  t.equal(scaleFor(300), MAX_RING_POINTS / 300)
  const a = new HashRing<Endpoint>()
  a.sync(eps)
  t.ok(a.contestedCount > 0, `${a.contestedCount} contested points`)
  const b = new HashRing<Endpoint>()
  const order = shuffled(eps, 3)
  b.sync(order.slice(0, 150))
  b.sync(order.slice(0, 299))
  b.sync(order)
  b.sync(order.slice(40)) // drop 40, then bring them back
  b.sync(shuffled(eps, 4))
  t.equal(b.pointCount, a.pointCount)
  t.equal(b.contestedCount, a.contestedCount)
  let differ = 0
  for (const ep of eps) if (a.ownedPoints(ep.address) !== b.ownedPoints(ep.address)) differ++
  t.equal(differ, 0, 'every address owns the same points')
  const keys = KEYS.slice(0, 5000)
  t.same(keys.map((k) => b.get(k)!.address), keys.map((k) => a.get(k)!.address))
})

t.test('ring: points per weight, capped for big rings', async (t) => {
  const ring = new HashRing<Endpoint>()
  ring.sync([endpoint(1, { weight: 1 }), endpoint(2, { weight: 3 })])
  t.equal(ring.scale, POINTS_PER_WEIGHT)
  t.ok(Math.abs(ring.ownedPoints('10.0.0.1:1') - POINTS_PER_WEIGHT) <= 1)
  t.ok(Math.abs(ring.ownedPoints('10.0.0.1:2') - 3 * POINTS_PER_WEIGHT) <= 2)
  ring.sync([endpoint(1, { weight: 1000 })])
  t.ok(ring.pointCount <= MAX_RING_POINTS)
})
