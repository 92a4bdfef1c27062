import t from 'tap'
import { LatencyBalancer } from '../../src/balancer/latency.js'
import { ManualClock, seededRandom } from '../../src/clock.js'
import { ctx, endpoint, endpoints, tally } from './compliance.js'
import { simulate } from './simulate.js'

t.test('sends at least 80% away from an endpoint 50 ms slower than two others', async (t) => {
  for (const seed of [1, 2, 3]) {
    const b = new LatencyBalancer(seededRandom(seed))
    const [a, c, slow] = endpoints(3)
    const counts = simulate(b, [a!, c!, slow!], { requests: 4000, intervalMs: 5, latencyMs: (ep) => (ep === slow ? 60 : 10) })
    const away = 1 - counts.get(slow!.address)! / 4000
    t.ok(away >= 0.8, `seed ${seed}: ${(away * 100).toFixed(1)}% away from the slow endpoint`)
  }
})

t.test('a new endpoint without samples is tried but not flooded', async (t) => {
  const clock = new ManualClock(0)
  const b = new LatencyBalancer(seededRandom(4))
  const eps = endpoints(3)
  simulate(b, eps, { requests: 500, intervalMs: 5, latencyMs: () => 20, clock })
  const fresh = endpoint(9000)
  const all = [...eps, fresh]
  const counts = simulate(b, all, { requests: 400, intervalMs: 5, latencyMs: () => 20, clock })
  const share = counts.get(fresh.address)! / 400
  t.ok(share > 0.1 && share < 0.4, `new endpoint got ${(share * 100).toFixed(1)}%`)
})

t.test('cost = peak EWMA × (in flight + 1) / effective weight', async (t) => {
  const b = new LatencyBalancer(seededRandom(1))
  const [a, c] = endpoints(2)
  a!.latency.observe(10, 0)
  c!.latency.observe(30, 0)
  t.equal(b.cost(a!, [a!, c!], 0), 10)
  a!.inFlight = 3
  t.equal(b.cost(a!, [a!, c!], 0), 40)
  t.equal(b.pick([a!, c!], ctx()), c, '30 × 1 beats 10 × 4')
  const heavy = endpoint(3, { weight: 4 })
  heavy.latency.observe(100, 0)
  t.equal(b.cost(heavy, [heavy], 0), 25)
  const unknown = endpoint(4)
  t.equal(b.cost(unknown, [a!, c!, unknown], 0), 20, 'no sample: the mean of the known ones')
})

t.test('EWMA decay (latencyDecayMs) lets a recovered endpoint back in', async (t) => {
  const b = new LatencyBalancer(seededRandom(8))
  const fast = endpoint(1, {}, 1000)
  const wasSlow = endpoint(2, {}, 1000)
  fast.latency.observe(10, 0)
  wasSlow.latency.observe(200, 0)
  const eps = [fast, wasSlow]
  t.equal(tally(b, eps, 100, () => ctx(100)).get(wasSlow.address), 0, 'just after the slow sample: avoided')
  fast.latency.observe(10, 5000)
  t.equal(tally(b, eps, 100, () => ctx(5000)).get(wasSlow.address), 100, 'after 5 decay periods its estimate (1.3 ms) is below the fast one')
})

t.test('slow start lowers a warming endpoint\'s share', async (t) => {
  const b = new LatencyBalancer(seededRandom(2))
  const [a, warm] = endpoints(2)
  warm!.slowStartMs = 10_000
  warm!.warmingSince = 0
  a!.latency.observe(10, 0)
  warm!.latency.observe(5, 0)
  t.equal(b.pick([a!, warm!], ctx(1)), a, 'at 10% weight, 5 ms costs 50')
  t.equal(b.pick([a!, warm!], ctx(10_000)), warm, 'warmed up, the faster wins')
})

t.test('explain lists every candidate\'s cost', async (t) => {
  const b = new LatencyBalancer(seededRandom(1))
  const [a, c] = endpoints(2)
  a!.latency.observe(10, 0)
  c!.latency.observe(20, 0)
  const e = b.explain([a!, c!, endpoint(5, { weight: 0 })], ctx())
  t.same(e.scores.map((s) => s.score), [10, 20, -1])
})
