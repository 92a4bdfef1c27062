/**
 * Admin-side costs, measured against baselines in the same run:
 * - per-request metric recording: prom-client used directly (labels object per call, the
 *   baseline), prom-client with cached `.labels()` children, and commy's RouteMetrics.done();
 *   the whole request observer (done, bytes, the golden window, every try on its endpoint) on
 *   records of one try and of two (a retry);
 * - one /metrics scrape with many series; one dashboard snapshot (1,000 endpoints) and its size.
 * Prints one JSON summary line last. Run: `npm run build && node dist/bench/admin-metrics.js`.
 */
import { Counter, Histogram, Registry } from 'prom-client'
import { Metrics } from '../src/admin/metrics.js'
import { DEFAULT_DURATION_BUCKETS } from '../src/admin/request-metrics.js'
import { SnapshotBuilder } from '../src/admin/snapshot.js'
import { endpointView, serviceView } from '../src/admin/views.js'
import { ServiceEndpoints } from '../src/endpoint/service-endpoints.js'
import { systemClock } from '../src/clock.js'
import type { AdminSource, HistoryBucketView, HistoryView } from '../src/admin/view.js'
import { nsPerOp as measureNsPerOp } from './lib/harness.js'
import { requestMetrics } from '../src/admin/request-observer.js'
import { requestRecord, type RequestRecord } from '../src/proxy/request-record.js'
import { machine } from './lib/machine.js'

const N = Number(process.env.BENCH_N ?? 1_000_000)
const ENDPOINTS = ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080', '10.0.0.4:8080']
const STATUSES = [200, 200, 200, 201, 204, 304, 404, 503]

const nsPerOp = (fn: (i: number) => void): number => measureNsPerOp(fn, N, 100_000)

function direct(): (i: number) => void {
  const registry = new Registry()
  const c = new Counter({ name: 'c_total', help: 'h', labelNames: ['listener', 'route', 'service', 'endpoint', 'code_class'], registers: [registry] })
  const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['listener', 'route', 'service'], buckets: [...DEFAULT_DURATION_BUCKETS], registers: [registry] })
  return (i) => {
    const status = STATUSES[i & 7]!
    c.inc({ listener: 'public', route: 'api', service: 'payments', endpoint: ENDPOINTS[i & 3]!, code_class: `${(status / 100) | 0}xx` })
    h.observe({ listener: 'public', route: 'api', service: 'payments' }, (i & 1023) / 20_000)
  }
}

function cachedChildren(): (i: number) => void {
  const registry = new Registry()
  const c = new Counter({ name: 'c_total', help: 'h', labelNames: ['listener', 'route', 'service', 'endpoint', 'code_class'], registers: [registry] })
  const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['listener', 'route', 'service'], buckets: [...DEFAULT_DURATION_BUCKETS], registers: [registry] })
  const children = new Map<string, Counter.Internal>()
  const hist = h.labels('public', 'api', 'payments')
  return (i) => {
    const status = STATUSES[i & 7]!
    const ep = ENDPOINTS[i & 3]!
    const key = `${ep}|${(status / 100) | 0}`
    let child = children.get(key)
    if (!child) children.set(key, (child = c.labels('public', 'api', 'payments', ep, `${(status / 100) | 0}xx`)))
    child.inc()
    hist.observe((i & 1023) / 20_000)
  }
}

function commy(): (i: number) => void {
  const m = new Metrics({ defaultMetrics: false })
  const route = m.route('public', 'api', 'payments')
  return (i) => route.done(ENDPOINTS[i & 3], STATUSES[i & 7]!, (i & 1023) / 20_000)
}

/** The admin plugin's request observer over prebuilt records (`tries` per request: 1, or 2 = a retry). */
function observer(tries: number): (i: number) => void {
  const m = new Metrics({ defaultMetrics: false })
  const observe = requestMetrics(m)
  const records: RequestRecord[] = Array.from({ length: 64 }, (_, i) => {
    const status = STATUSES[i & 7]!
    return requestRecord({
      listener: 'public',
      method: 'GET',
      url: '/x',
      route: { name: 'api', service: 'payments' },
      endpoint: ENDPOINTS[i & 3],
      status,
      startedAt: 0,
      endedAt: (i & 63) / 20,
      bytesIn: 0,
      bytesOut: 100,
      attempts: tries,
      requestId: 'r',
      code: undefined,
      tries: Array.from({ length: tries }, (_, k) => ({ endpoint: ENDPOINTS[(i + k) & 3]!, startedAt: 0, endedAt: 1, status: k < tries - 1 ? 503 : status, code: undefined })),
    })
  })
  return (i) => observe(records[i & 63]!)
}

function fakeSource(services: number, perService: number): AdminSource {
  const sets = Array.from({ length: services }, (_, s) => {
    const set = new ServiceEndpoints({ name: `svc-${s}`, panicThreshold: 0, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => 0 })
    set.apply('static', Array.from({ length: perService }, (_, i) => ({ host: `10.${s}.${i >> 8}.${i & 255}`, port: 8080, weight: 1, zone: 'z', tags: ['v1'] })))
    return set
  })
  const all = () => sets.flatMap((s) => [...s.snapshot.all])
  return {
    node: () => ({ name: 'n', zone: 'z', version: '0.1.0', configVersion: 'abc', startedAt: Date.now() - 1000, draining: false }),
    readiness: () => ({ ready: true }),
    members: () => Array.from({ length: 50 }, (_, i) => ({ name: `n${i}`, address: `10.9.0.${i}:7946`, state: 'alive' as const, incarnation: 1, zone: 'z', services: ['svc-0'], self: i === 0 })),
    services: () => sets.map((s) => serviceView(s.name, 'round-robin', 'http1', s.snapshot, 0)),
    endpoints: () => all().map((ep) => endpointView(ep, 0)),
    endpointHistory(id, since): HistoryView {
      const now = Date.now()
      const b = 10_000
      const buckets: HistoryBucketView[] = []
      for (let t = Math.max(since ?? 0, now - 360 * b); t <= now; t += b) buckets.push({ start: t - (t % b), requests: 100, errors: 1, p50: 1, p90: 2, p99: 3, checksOk: 1, checksFailed: 0 })
      return { id, bucketMs: b, buckets, transitions: [] }
    },
    alerts: () => [],
    config: () => ({}),
  }
}

async function main(): Promise<void> {
  const baseline = nsPerOp(direct())
  const cached = nsPerOp(cachedChildren())
  const ours = nsPerOp(commy())
  const observed = nsPerOp(observer(1))
  const observedRetry = nsPerOp(observer(2))
  // a loop that only picks its inputs, to subtract
  let sink = 0
  const empty = nsPerOp((i) => {
    sink += STATUSES[i & 7]! + ENDPOINTS[i & 3]!.length + (i & 1023) / 20_000
  })

  // scrape: 10 listeners×routes, 50 endpoints each, 5 code classes, plus 200 endpoints of gauges
  const m = new Metrics({ source: fakeSource(4, 50), defaultMetrics: true })
  for (let r = 0; r < 10; r++) {
    const route = m.route('public', `route-${r}`, `svc-${r % 4}`)
    for (let e = 0; e < 50; e++) for (const s of [200, 301, 404, 503, 0]) route.done(`10.0.0.${e}:80`, s, 0.003)
  }
  await m.text()
  const s0 = performance.now()
  let text = ''
  for (let i = 0; i < 20; i++) text = await m.text()
  const scrapeMs = (performance.now() - s0) / 20

  const snap = new SnapshotBuilder(fakeSource(10, 100), systemClock, { maxSeries: 200 })
  let frame = JSON.stringify(snap.build())
  const b0 = performance.now()
  for (let i = 0; i < 20; i++) frame = JSON.stringify(snap.build())
  const snapshotMs = (performance.now() - b0) / 20

  const result = {
    bench: 'admin-metrics',
    ...machine(),
    iterations: N,
    requestRecording_nsPerOp: {
      promClientDirect: round(baseline),
      promClientCachedChildren: round(cached),
      commyRouteMetrics: round(ours),
      commyObserverOneTry: round(observed),
      commyObserverTwoTries: round(observedRetry),
      loopOverhead: round(empty),
    },
    ratios: {
      cachedChildrenVsDirect: round(cached / baseline, 3),
      commyVsDirect: round(ours / baseline, 3),
    },
    scrape: { series: text.split('\n').filter((l) => l && !l.startsWith('#')).length, bytes: text.length, ms: round(scrapeMs, 2) },
    dashboardSnapshot: { endpoints: 1000, sparklines: 200, ms: round(snapshotMs, 2), frameBytes: frame.length },
    sink: sink > 0,
  }
  console.log(JSON.stringify(result))
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

void main()
