/** Panic mode lives in ServiceEndpoints.refresh(); here it is driven by the outlier detector and breakers. */
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { ServiceEndpoints, type EndpointSnapshot } from '../../src/endpoint/service-endpoints.js'
import { createOutlierDetection } from '../../src/resilience/outlier-detector.js'
import { createBreaker } from '../../src/resilience/breaker.js'

function service(clock: ManualClock, panicThreshold: number, n = 4) {
  const set = new ServiceEndpoints({ name: 'svc', panicThreshold, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now() })
  set.apply('static', Array.from({ length: n }, (_, i) => ({ host: '127.0.0.1', port: 2000 + i, weight: i === n - 1 ? 0 : 1, zone: undefined, tags: [] })))
  const flips: { panic: boolean; eligible: number }[] = []
  set.on({ snapshot: (next: EndpointSnapshot, prev: EndpointSnapshot) => { if (next.panic !== prev.panic) flips.push({ panic: next.panic, eligible: next.eligible.length }) } })
  return { set, flips }
}

t.test('below panicThreshold healthy, every non-draining endpoint is eligible; the snapshot event shows the flip', async (t) => {
  const clock = new ManualClock(1_000)
  // 3 serving endpoints + 1 draining (weight 0)
  const { set, flips } = service(clock, 50)
  const od = createOutlierDetection(
    { enabled: true, consecutiveErrors: 1, baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 60_000, maxEjectionPercent: 100 },
    { clock, endpoints: () => set.snapshot.all, changed: () => set.refresh() },
  )
  const [a, b, c, drain] = set.snapshot.all
  t.equal(set.snapshot.eligible.length, 3)
  od.record(a!, 'failure')
  t.equal(set.snapshot.panic, false, '2 of 3 healthy (67%) is above 50%')
  t.same(set.snapshot.eligible, [b, c])
  od.record(b!, 'failure')
  t.equal(set.snapshot.panic, true, '1 of 3 healthy (33%) is below 50%: panic')
  t.same(set.snapshot.eligible, [a, b, c], 'all non-draining endpoints, ejected ones included')
  t.notOk(set.snapshot.eligible.includes(drain!), 'draining endpoints stay out even in panic')
  od.record(c!, 'failure')
  t.same(set.snapshot.eligible, [a, b, c], 'every endpoint ejected: still route to all of them')
  clock.advance(10_000)
  t.equal(set.snapshot.panic, false, 'un-ejection ends panic')
  t.equal(set.snapshot.eligible.length, 3)
  t.same(flips, [{ panic: true, eligible: 3 }, { panic: false, eligible: 3 }], 'a logger sees exactly the two transitions')
  od.stop()
})

t.test('open breakers count as unhealthy for panic; panicThreshold 0 disables panic', async (t) => {
  const clock = new ManualClock(1_000)
  const { set, flips } = service(clock, 100, 3)
  const conf = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 5_000, rollingCountTimeoutMs: 10_000, rollingCountBuckets: 10 }
  const [a] = set.snapshot.all
  const br = createBreaker(a!, conf, { clock, changed: () => set.refresh() })
  br.record('failure', br.admit())
  t.equal(br.state.kind, 'open')
  t.equal(set.snapshot.panic, true, 'threshold 100: any unhealthy endpoint means panic')
  t.equal(flips.length, 1)
  br.stop()

  const off = service(clock, 0, 3)
  const x = off.set.snapshot.all[0]!
  const br2 = createBreaker(x, conf, { clock, changed: () => off.set.refresh() })
  br2.record('failure', br2.admit())
  const y = off.set.snapshot.all[1]!
  const br3 = createBreaker(y, conf, { clock, changed: () => off.set.refresh() })
  br3.record('failure', br3.admit())
  t.equal(off.set.snapshot.panic, false)
  t.same(off.set.snapshot.eligible, [], 'no endpoint eligible: the pipeline answers NoHealthyEndpoint')
  clock.advance(5_000)
  t.equal(off.set.snapshot.eligible.length, 2, 'half-open endpoints are eligible again for their trial')
  br2.stop()
  br3.stop()
})
