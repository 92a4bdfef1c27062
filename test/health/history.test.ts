import t from 'tap'
import v8 from 'node:v8'
import vm from 'node:vm'
import { ManualClock } from '../../src/clock.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import { HISTOGRAM_PRECISION } from '../../src/health/histogram.js'
import { History, historyOptions, serviceOfId } from '../../src/health/history.js'

const near = (got: number | null, want: number): boolean => got !== null && Math.abs(got - want) / want <= HISTOGRAM_PRECISION

function fresh(start = 0, over: Partial<ConstructorParameters<typeof History>[0]> = {}) {
  const clock = new ManualClock(start)
  const history = new History({ bucketMs: 10_000, retentionMs: 3_600_000, clock, ...over })
  return { clock, history }
}

t.test('scripted load: exact counts per bucket, percentiles within histogram precision, idle buckets empty', async (t) => {
  const { clock, history } = fresh()
  const id = 'pay~127.0.0.1:1'
  // bucket 0: latencies 1..100 ms, every 10th an error
  for (let v = 1; v <= 100; v++) history.record(id, v, v % 10 !== 0, clock.now() + v * 10)
  clock.advance(10_000)
  // bucket 1: 1,000 × 5 ms, 3 errors, 2 checks ok, 1 failed
  for (let i = 0; i < 1_000; i++) history.record(id, 5, i >= 3, clock.now() + i)
  history.recordCheck(id, true, clock.now())
  history.recordCheck(id, true, clock.now() + 1)
  history.recordCheck(id, false, clock.now() + 2)
  clock.advance(40_000)
  // bucket 5: 3 requests
  for (const v of [200, 300, 400]) history.record(id, v, true, clock.now())

  const h = history.endpointHistory(id)!
  t.equal(h.bucketMs, 10_000)
  t.same(h.buckets.map((b) => b.start), [0, 10_000, 20_000, 30_000, 40_000, 50_000], 'aligned bucket starts, idle gaps included')
  t.same(h.buckets.map((b) => b.requests), [100, 1_000, 0, 0, 0, 3])
  t.same(h.buckets.map((b) => b.errors), [10, 3, 0, 0, 0, 0])
  t.same(h.buckets.map((b) => [b.checksOk, b.checksFailed]), [[0, 0], [2, 1], [0, 0], [0, 0], [0, 0], [0, 0]])
  const b0 = h.buckets[0]!
  t.ok(near(b0.p50, 50) && near(b0.p90, 90) && near(b0.p99, 99), `p50/p90/p99 = ${b0.p50}/${b0.p90}/${b0.p99}`)
  t.ok(near(h.buckets[1]!.p99, 5))
  t.equal(h.buckets[2]!.p50, null, 'no request, no percentile')
  t.ok(near(h.buckets[5]!.p50, 300) && near(h.buckets[5]!.p99, 400))

  // move far beyond the detail ring: the percentiles kept for old buckets are the same
  clock.advance(300_000)
  history.record(id, 1, true, clock.now())
  const later = history.endpointHistory(id)!
  t.same(later.buckets.slice(0, 6), h.buckets, 'sealed buckets read the same as when they were detailed')
  t.equal(later.buckets.length, 36)

  const since = history.endpointHistory(id, { since: 10_000 })!
  t.equal(since.buckets[0]!.start, 10_000)
  t.equal(history.endpointHistory(id, 345_000)!.buckets.length, 2, 'numeric since (the admin reader form)')
  t.equal(history.endpointHistory('nope'), undefined)
  t.same(history.endpointIds(), [id])
})

t.test('retention: only the last hour of buckets is kept', async (t) => {
  const { clock, history } = fresh()
  for (let i = 0; i < 400; i++) {
    history.record('s~a:1', 1, i % 2 === 0, clock.now())
    clock.advance(10_000)
  }
  history.record('s~a:1', 1, true, clock.now())
  const h = history.endpointHistory('s~a:1')!
  t.equal(h.buckets.length, 360)
  t.equal(h.buckets[0]!.start, 41 * 10_000, 'oldest kept bucket')
  t.ok(h.buckets.every((b) => b.requests === 1))
  t.equal(h.buckets.filter((b) => b.errors === 1).length, 180)
})

t.test('transitions are kept with time and reason, bounded per endpoint', async (t) => {
  const { clock, history } = fresh(1_000_000, { maxTransitions: 3 })
  const ep = new Endpoint('pay', { host: '127.0.0.1', port: 9, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)
  history.transition(ep, 'healthy', 'unhealthy', 'HTTP 500 from /health', clock.now())
  clock.advance(5_000)
  history.transition(ep, 'unhealthy', 'healthy', 'HTTP 200 from /health', clock.now())
  history.transition(ep, 'breaker closed', 'breaker open', '60% of 20 failed', clock.now())
  let h = history.endpointHistory(ep.id)!
  t.same(h.transitions, [
    { at: 1_000_000, from: 'healthy', to: 'unhealthy', reason: 'HTTP 500 from /health' },
    { at: 1_005_000, from: 'unhealthy', to: 'healthy', reason: 'HTTP 200 from /health' },
    { at: 1_005_000, from: 'breaker closed', to: 'breaker open', reason: '60% of 20 failed' },
  ])
  history.transition(ep, 'breaker open', 'breaker closed', 'trial request succeeded', clock.now())
  h = history.endpointHistory(ep.id)!
  t.equal(h.transitions.length, 3, 'bounded')
  t.equal(h.transitions[2]!.to, 'breaker closed')
  t.equal(history.endpointHistory(ep.id, 1_003_000)!.transitions.length, 3)
  t.equal(history.endpointHistory(ep.id, 1_006_000)!.transitions.length, 0)
})

t.test('window stats merge endpoints; service summary and rates', async (t) => {
  const { clock, history } = fresh()
  const mk = (port: number) => new Endpoint('pay', { host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] }, 'static', 10_000)
  const a = mk(1)
  const b = mk(2)
  for (let i = 0; i < 50; i++) {
    history.record(a, 10, true, clock.now())
    history.record(b, 100, i >= 25, clock.now())
    clock.advance(1_000)
  }
  const w = history.windowStats([a.id, b.id], 60_000)
  t.equal(w.requests, 100)
  t.equal(w.errors, 25)
  t.equal(w.errorRate, 0.25)
  t.ok(near(w.p50, 10) && near(w.p99, 100), `merged p50 ${w.p50}, p99 ${w.p99}`)
  t.equal(w.windowMs, 50_000)
  t.equal(w.rps, 2)
  b.activeHealth = 'unhealthy'
  b.activeReason = 'HTTP 500 from /health'
  const sum = history.serviceSummary('pay', [a, b])
  t.same(sum.endpoints.map((e) => [e.id, e.state, e.reason, e.requests, e.errors]), [
    [a.id, 'healthy', 'ok', 50, 0],
    [b.id, 'unhealthy', 'HTTP 500 from /health', 50, 25],
  ])
  history.transition(b, 'healthy', 'unhealthy', 'HTTP 500 from /health', clock.now())
  const fromHistory = history.serviceSummary('pay')
  t.same(fromHistory.endpoints.map((e) => e.state), ['unknown', 'unhealthy'], 'state from the last transition without endpoints')
  // last complete bucket: [40 s, 50 s) had 10 requests of a
  t.same(history.rates(a.id), { rps: 1, p99Ms: history.endpointHistory(a.id)!.buckets[4]!.p99 })
  t.equal(history.rates('x'), undefined)
  t.equal(serviceOfId('pay~127.0.0.1:1'), 'pay')
})

t.test('late samples land in their (still retained) bucket; the series count is bounded', async (t) => {
  const { clock, history } = fresh(0, { maxEndpoints: 3 })
  history.record('s~a:1', 1, true, 25_000)
  history.record('s~a:1', 1, false, 5_000)
  const h = history.endpointHistory('s~a:1')!
  t.same(h.buckets.map((b) => b.requests), [1], 'a sample older than the series start is dropped')
  history.record('s~a:1', 1, false, 21_000)
  t.equal(history.endpointHistory('s~a:1')!.buckets[0]!.errors, 1)
  for (let i = 2; i <= 5; i++) {
    clock.advance(10_000)
    history.record(`s~a:${i}`, 1, true, clock.now())
  }
  t.equal(history.endpointIds().length, 3)
  t.notOk(history.endpointIds().includes('s~a:1'), 'the least recently written series went first')
  history.forget('s~a:5')
  t.equal(history.endpointIds().length, 2)
})

t.test('options from the config keep full histograms for the longest p99 window', async (t) => {
  const clock = new ManualClock()
  const o = historyOptions({ historyBucketMs: 10_000, historyRetentionMs: 3_600_000, eventLoopLagThresholdMs: 100 }, clock, {
    rules: [{ name: 'slow', when: 'p99-latency', above: 250, forMs: 120_000, service: undefined, severity: 'warning', minRequests: 10 }],
    webhooks: [],
    keep: 10,
  })
  t.equal(o.detailMs, 120_000)
  t.throws(() => new History({ bucketMs: 0, retentionMs: 1, clock }))
})

t.test('memory: 1,000 endpoints × 360 buckets filled stay under 50 MB', async (t) => {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const used = () => {
    gc()
    gc()
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  const before = used()
  const { clock, history } = fresh()
  const eps = Array.from({ length: 1_000 }, (_, i) => new Endpoint('svc' + (i % 20), { host: '127.0.0.1', port: 10_000 + i, weight: 1, zone: undefined, tags: [] }, 'static', 10_000))
  for (let b = 0; b < 360; b++) {
    for (let i = 0; i < eps.length; i++) {
      history.record(eps[i]!, 1 + ((b * 7 + i) % 500), true, clock.now())
      history.record(eps[i]!, 0.2 + (i % 50), (b + i) % 13 !== 0, clock.now())
      history.recordCheck(eps[i]!, true, clock.now())
    }
    clock.advance(10_000)
  }
  for (let k = 0; k < 50; k++) for (const ep of eps) history.transition(ep, 'healthy', 'ejected', `ejected by outlier detection (${k})`, clock.now())
  const after = used()
  const mb = (after - before) / 1e6
  t.comment(`history of 1,000 endpoints × 360 buckets + 50 transitions each: ${mb.toFixed(1)} MB (typed arrays ${(history.memoryBytes() / 1e6).toFixed(1)} MB)`)
  t.ok(mb < 50, `${mb.toFixed(1)} MB < 50 MB`)
  t.equal(history.endpointHistory(eps[0]!.id)!.buckets.length, 360)
  t.ok(eps.length > 0) // keep eps alive through the measurement
})
