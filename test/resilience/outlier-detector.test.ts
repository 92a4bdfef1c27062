import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import type { OutlierConfig } from '../../src/config/types.js'
import { createOutlierDetection, NoOutlierDetection, OutlierDetector, type Ejection } from '../../src/resilience/outlier-detector.js'

const config = (over: Partial<OutlierConfig> = {}): OutlierConfig => ({
  enabled: true,
  consecutiveErrors: 5,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 100_000,
  maxEjectionPercent: 50,
  ...over,
})

function setup(n: number, over: Partial<OutlierConfig> = {}, extra: { lagging?: () => boolean; decayIntervalMs?: number } = {}) {
  const clock = new ManualClock(1_000)
  const eps = Array.from({ length: n }, (_, i) => new Endpoint('svc', { host: '127.0.0.1', port: 1000 + i, weight: 1, zone: undefined, tags: [] }, 'static', 10_000))
  let changes = 0
  const ejections: Ejection[] = []
  const returned: Endpoint[] = []
  const capped: Endpoint[] = []
  const od = createOutlierDetection(config(over), {
    clock,
    endpoints: () => eps,
    changed: () => changes++,
    onEject: (e) => ejections.push(e),
    onReturn: (ep) => returned.push(ep),
    onCapped: (ep) => capped.push(ep),
    ...(extra.lagging ? { isLagging: extra.lagging } : {}),
    ...(extra.decayIntervalMs ? { decayIntervalMs: extra.decayIntervalMs } : {}),
  }) as OutlierDetector
  const fail = (ep: Endpoint, k: number) => {
    for (let i = 0; i < k; i++) od.record(ep, 'failure', 'status-5xx')
  }
  return { clock, eps, od, fail, ejections, returned, capped, changes: () => changes }
}

t.test('consecutive failures eject; success or neutral between them', async (t) => {
  const s = setup(4)
  const [a] = s.eps
  s.fail(a!, 4)
  s.od.record(a!, 'success')
  t.equal(a!.consecutiveFailures, 0, 'a success resets the count')
  s.fail(a!, 2)
  s.od.record(a!, 'neutral')
  t.equal(a!.consecutiveFailures, 2, 'neutral leaves the count')
  s.fail(a!, 2)
  t.equal(a!.ejectedUntil, 0)
  s.fail(a!, 1)
  t.equal(a!.ejectedUntil, s.clock.now() + 30_000, 'the 5th consecutive failure ejects for the base time')
  t.equal(a!.consecutiveFailures, 0, 'counters reset on ejection')
  t.match(a!.ejectionReason, /ejected for 30000ms: 5 consecutive failures \(last: status-5xx\)/)
  t.equal(a!.eligibility(s.clock.now()).state, 'ejected')
  t.equal(s.changes(), 1)
  t.equal(s.ejections.length, 1)
  s.fail(a!, 10)
  t.equal(s.ejections.length, 1, 'stragglers of an ejected endpoint are not counted')
  s.clock.advance(29_999)
  t.equal(s.returned.length, 0)
  s.clock.advance(1)
  t.same(s.returned, [a], 'the timer un-ejects it')
  t.equal(a!.ejectedUntil, 0)
  t.equal(a!.ejectionReason, '')
  t.equal(s.changes(), 2, 'changed() on un-ejection')
  t.equal(a!.eligibility(s.clock.now()).eligible, true)
})

t.test('ejection time = base × number of ejections, capped at max', async (t) => {
  const s = setup(2, { maxEjectionPercent: 100 })
  const a = s.eps[0]!
  const durations: number[] = []
  for (let i = 0; i < 5; i++) {
    s.fail(a, 5)
    durations.push(a.ejectedUntil - s.clock.now())
    s.clock.advance(durations.at(-1)!) // fails again right after returning: no healthy period to decay
  }
  t.same(durations, [30_000, 60_000, 90_000, 100_000, 100_000])
  t.same(s.ejections.map((e) => e.multiplier), [1, 2, 3, 4, 5])
})

t.test('the multiplier decays after healthy periods (one step per decay interval)', async (t) => {
  const s = setup(2, { maxEjectionPercent: 100 }, { decayIntervalMs: 60_000 })
  const a = s.eps[0]!
  s.fail(a, 5)
  s.clock.advance(30_000)
  s.fail(a, 5)
  t.equal(s.ejections.at(-1)!.durationMs, 60_000, 'second ejection right after return: ×2')
  s.clock.advance(60_000)
  t.equal(s.od.multiplier(a), 2)
  s.clock.advance(60_000) // one decay interval in service
  t.equal(s.od.multiplier(a), 1)
  s.fail(a, 5)
  t.equal(s.ejections.at(-1)!.durationMs, 60_000, 'one step decayed: ×(1+1)')
  s.clock.advance(60_000)
  s.clock.advance(10 * 60_000) // a long healthy period
  t.equal(s.od.multiplier(a), 0, 'fully reset')
  s.fail(a, 5)
  t.equal(s.ejections.at(-1)!.durationMs, 30_000, 'back to the base time')
})

t.test('at most maxEjectionPercent of the endpoints are ejected at once', async (t) => {
  const s = setup(10, { maxEjectionPercent: 30 })
  for (const ep of s.eps) s.fail(ep, 5)
  t.equal(s.eps.filter((e) => e.ejectedUntil > s.clock.now()).length, 3, '30% of 10')
  t.equal(s.capped.length, 7)
  const d = s.eps[3]!
  t.equal(d.consecutiveFailures, 5, 'a capped endpoint keeps its count')
  s.clock.advance(30_000)
  s.fail(d, 1)
  t.ok(d.ejectedUntil > s.clock.now(), 'ejected at its next failure once room is free')
})

t.test('at least one endpoint may be ejected when the percentage is above 0; none at 0', async (t) => {
  const s = setup(3, { maxEjectionPercent: 10 })
  s.fail(s.eps[0]!, 5)
  s.fail(s.eps[1]!, 5)
  t.equal(s.eps.filter((e) => e.ejectedUntil > 0).length, 1)
  const z = setup(3, { maxEjectionPercent: 0 })
  z.fail(z.eps[0]!, 50)
  t.equal(z.eps[0]!.ejectedUntil, 0)
})

t.test('failures are not counted while the event loop lags', async (t) => {
  let lagging = true
  const s = setup(4, {}, { lagging: () => lagging })
  const a = s.eps[0]!
  s.fail(a, 20)
  t.equal(a.ejectedUntil, 0, 'no ejection while lagging')
  t.equal(a.consecutiveFailures, 0)
  lagging = false
  s.fail(a, 5)
  t.ok(a.ejectedUntil > 0)
})

t.test('forget and stop cancel timers; disabled detection never ejects', async (t) => {
  const s = setup(4)
  s.fail(s.eps[0]!, 5)
  s.fail(s.eps[1]!, 5)
  t.equal(s.clock.pending(), 2)
  s.od.forget(s.eps[0]!)
  t.equal(s.clock.pending(), 1)
  s.od.stop()
  s.od.stop()
  t.equal(s.clock.pending(), 0)
  s.fail(s.eps[2]!, 5)
  t.equal(s.eps[2]!.ejectedUntil, 0, 'nothing after stop')

  const clock = new ManualClock()
  const ep = new Endpoint('svc', { host: '127.0.0.1', port: 1, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)
  const off = createOutlierDetection(config({ enabled: false }), { clock, endpoints: () => [ep], changed: () => t.fail('never') })
  t.type(off, NoOutlierDetection)
  off.start()
  for (let i = 0; i < 50; i++) off.record(ep, 'failure')
  t.equal(ep.ejectedUntil, 0)
  t.equal(ep.consecutiveFailures, 50, 'still counted for the admin view')
  off.record(ep, 'success')
  t.equal(ep.consecutiveFailures, 0)
  off.forget(ep)
  off.stop()
})
