import t from 'tap'
import { ServiceEndpoints, type ServiceEndpointsOptions } from '../../src/endpoint/service-endpoints.js'
import type { EndpointInfo } from '../../src/endpoint/endpoint.js'
import { ManualClock } from '../../src/clock.js'
import { PeakEwma } from '../../src/endpoint/ewma.js'
import { breakerIn } from '../helpers/breaker.js'

const info = (port: number, extra: Partial<EndpointInfo> = {}): EndpointInfo => ({ host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [], ...extra })

function service(clock: ManualClock, over: Partial<ServiceEndpointsOptions> = {}) {
  return new ServiceEndpoints({
    name: 'svc',
    panicThreshold: 50,
    slowStartMs: 0,
    latencyDecayMs: 10_000,
    preferLocalZone: false,
    localZone: undefined,
    now: () => clock.now(),
    ...over,
  })
}

t.test('apply keeps endpoint objects of unchanged addresses and reports added/removed', async (t) => {
  const clock = new ManualClock()
  const s = service(clock)
  const added: string[] = []
  const removed: string[] = []
  s.on({ added: (e) => added.push(e.address), removed: (e) => removed.push(e.address) })
  s.apply('static', [info(1), info(2)])
  const first = s.get('127.0.0.1:1')
  first!.inFlight = 7
  s.apply('static', [info(1), info(3)])
  t.equal(s.get('127.0.0.1:1'), first, 'same object, stats kept')
  t.equal(s.get('127.0.0.1:1')!.inFlight, 7)
  t.same(added, ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'])
  t.same(removed, ['127.0.0.1:2'])
  t.same(s.snapshot.eligible.map((e) => e.port), [1, 3])
})

t.test('an endpoint announced by two sources stays until both drop it; static wins on weight', async (t) => {
  const clock = new ManualClock()
  const s = service(clock)
  s.apply('static', [info(1, { weight: 5 })])
  s.apply('gossip', [info(1, { weight: 2, node: 'b' })])
  t.equal(s.get('127.0.0.1:1')!.weight, 5)
  s.apply('static', [])
  t.equal(s.get('127.0.0.1:1')!.weight, 2, 'gossip info applies once static is gone')
  s.apply('gossip', [])
  t.equal(s.get('127.0.0.1:1'), undefined)
  t.equal(s.snapshot.all.length, 0)
})

t.test('unhealthy, ejected, open-breaker and weight-0 endpoints are not eligible, with reasons', async (t) => {
  const clock = new ManualClock(1000)
  const s = service(clock, { panicThreshold: 0 })
  s.apply('static', [info(1), info(2), info(3), info(4), info(5, { weight: 0 })])
  const [a, b, c] = [s.get('127.0.0.1:1')!, s.get('127.0.0.1:2')!, s.get('127.0.0.1:3')!]
  a.activeHealth = 'unhealthy'
  a.activeReason = 'HTTP 500 from /health'
  b.ejectedUntil = clock.now() + 5000
  c.breaker = breakerIn('open')
  s.refresh()
  t.same(s.snapshot.eligible.map((e) => e.port), [4])
  t.same(a.eligibility(clock.now()), { eligible: false, state: 'unhealthy', reason: 'HTTP 500 from /health' })
  t.equal(b.eligibility(clock.now()).state, 'ejected')
  t.equal(c.eligibility(clock.now()).reason, 'circuit breaker open')
  t.equal(s.get('127.0.0.1:5')!.eligibility(clock.now()).state, 'draining')
  clock.advance(5000)
  s.refresh()
  t.same(s.snapshot.eligible.map((e) => e.port), [2, 4], 'ejection expires')
})

t.test('panic mode: below the threshold every non-draining endpoint is used', async (t) => {
  const clock = new ManualClock()
  const s = service(clock, { panicThreshold: 50 })
  s.apply('static', [info(1), info(2), info(3), info(4, { weight: 0 })])
  const snaps: boolean[] = []
  s.on({ snapshot: (n) => snaps.push(n.panic) })
  s.get('127.0.0.1:1')!.activeHealth = 'unhealthy'
  s.refresh()
  t.equal(s.snapshot.panic, false, '2 of 3 healthy is above 50%')
  t.equal(s.snapshot.eligible.length, 2)
  s.get('127.0.0.1:2')!.activeHealth = 'unhealthy'
  s.refresh()
  t.equal(s.snapshot.panic, true)
  t.same(s.snapshot.eligible.map((e) => e.port), [1, 2, 3], 'draining endpoint excluded even in panic')
  t.same(snaps, [false, true])
})

t.test('tags and local-zone preference', async (t) => {
  const clock = new ManualClock()
  const s = service(clock, { preferLocalZone: true, localZone: 'z1', panicThreshold: 0 })
  s.apply('static', [info(1, { zone: 'z1', tags: ['v1'] }), info(2, { zone: 'z2', tags: ['v2'] }), info(3, { zone: 'z1', tags: ['v2'] })])
  t.same(s.snapshot.eligible.map((e) => e.port), [1, 3])
  t.same(s.eligibleWithTags(['v2']).map((e) => e.port), [3])
  t.equal(s.eligibleWithTags(['v2']), s.eligibleWithTags(['v2']), 'cached per snapshot')
  s.get('127.0.0.1:1')!.activeHealth = 'unhealthy'
  s.get('127.0.0.1:3')!.activeHealth = 'unhealthy'
  s.refresh()
  t.same(s.snapshot.eligible.map((e) => e.port), [2], 'falls back to other zones')
})

t.test('slow start: endpoints present at start take full weight, later ones ramp', async (t) => {
  const clock = new ManualClock(10_000)
  const s = service(clock, { slowStartMs: 10_000 })
  s.apply('static', [info(1, { weight: 10 })])
  s.markStarted()
  s.apply('static', [info(1, { weight: 10 }), info(2, { weight: 10 })])
  const [a, b] = [s.get('127.0.0.1:1')!, s.get('127.0.0.1:2')!]
  t.equal(a.effectiveWeight(clock.now()), 10)
  t.equal(b.effectiveWeight(clock.now()), 1, 'starts at 10%')
  clock.advance(5000)
  t.equal(b.effectiveWeight(clock.now()), 5)
  clock.advance(5000)
  t.equal(b.effectiveWeight(clock.now()), 10)
  // recovery ramps again
  a.activeHealth = 'unhealthy'
  s.refresh()
  a.activeHealth = 'healthy'
  s.refresh()
  t.equal(a.effectiveWeight(clock.now()), 1)
})

t.test('peak EWMA: peaks at once, decays with time', async (t) => {
  const e = new PeakEwma(1000)
  t.equal(e.get(0), undefined)
  e.observe(10, 0)
  e.observe(100, 10)
  t.equal(e.get(10), 100, 'a higher sample replaces the estimate')
  e.observe(10, 1010)
  const v = e.get(1010)!
  t.ok(v < 100 && v > 10, `decays towards lower samples (${v})`)
  t.ok(Math.abs(v - (100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)))) < 1e-9)
})
