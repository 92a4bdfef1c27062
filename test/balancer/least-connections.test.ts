import t from 'tap'
import { LeastConnectionsBalancer, FULL_SCAN_MAX } from '../../src/balancer/least-connections.js'
import { seededRandom } from '../../src/clock.js'
import { ctx, endpoint, endpoints, tally } from './compliance.js'
import { simulate } from './simulate.js'

t.test('sends almost nothing to an endpoint holding slow requests', async (t) => {
  const b = new LeastConnectionsBalancer(seededRandom(1))
  const [a, slow, c] = endpoints(3)
  const counts = simulate(b, [a!, slow!, c!], { requests: 3000, intervalMs: 4, latencyMs: (ep) => (ep === slow ? 2000 : 5) })
  const share = counts.get(slow!.address)! / 3000
  t.ok(share < 0.02, `slow endpoint got ${(share * 100).toFixed(2)}% of requests`)
  t.ok(counts.get(a!.address)! > 1400 && counts.get(c!.address)! > 1400, 'the fast ones share the rest')
  t.equal(slow!.inFlight + a!.inFlight + c!.inFlight, 0)
})

t.test('fewest in flight wins; ties go round, not always to the first', async (t) => {
  const b = new LeastConnectionsBalancer(seededRandom(1))
  const eps = endpoints(3)
  eps[0]!.inFlight = 2
  const counts = tally(b, eps, 3000)
  t.equal(counts.get(eps[0]!.address), 0, 'the busier one is never picked')
  const [x, y] = [counts.get(eps[1]!.address)!, counts.get(eps[2]!.address)!]
  t.ok(Math.abs(x - y) < 150, `tied endpoints share evenly (${x} / ${y})`)
  eps[0]!.inFlight = 0
  eps[1]!.inFlight = 1
  const again = tally(b, eps, 3000)
  t.ok(again.get(eps[0]!.address)! > 1350 && again.get(eps[2]!.address)! > 1350, 'not always the first of the ties')
})

t.test('in flight is counted per unit of weight', async (t) => {
  const b = new LeastConnectionsBalancer(seededRandom(1))
  const heavy = endpoint(1, { weight: 3 })
  const light = endpoint(2, { weight: 1 })
  heavy.inFlight = 2 // 3/3 = 1
  light.inFlight = 1 // 2/1 = 2
  t.equal(b.pick([heavy, light], ctx()), heavy)
})

t.test(`power of two choices above ${FULL_SCAN_MAX} candidates still avoids busy endpoints`, async (t) => {
  const b = new LeastConnectionsBalancer(seededRandom(11))
  const eps = endpoints(20)
  const busy = eps[7]!
  busy.inFlight = 50
  const counts = tally(b, eps, 20_000)
  t.equal(counts.get(busy.address), 0, 'the busy endpoint loses every comparison')
  const others = [...counts.entries()].filter(([a]) => a !== busy.address).map(([, c]) => c)
  t.ok(Math.min(...others) > 800 && Math.max(...others) < 1300, `others spread evenly (${Math.min(...others)}..${Math.max(...others)})`)
})

t.test('slow start: a warming endpoint takes fewer connections', async (t) => {
  const b = new LeastConnectionsBalancer(seededRandom(1))
  const [a, warm] = endpoints(2)
  warm!.slowStartMs = 10_000
  warm!.warmingSince = 0
  a!.inFlight = 3
  warm!.inFlight = 1
  t.equal(b.pick([a!, warm!], ctx(1000)), a, 'at 10% weight, 1 in flight is already heavier than 3')
  t.equal(b.pick([a!, warm!], ctx(10_000)), warm, 'warmed up: fewest in flight wins')
})
