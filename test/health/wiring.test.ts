/**
 * The health mechanisms wired into a real sidecar: the active monitor as its HealthSource, the
 * history fed by the pipeline layer, check results and state transitions; proxied traffic avoids
 * an endpoint while its /health fails.
 */
import t from 'tap'
import { seededRandom, systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import type { HistoryReader } from '../../src/admin/source.js'
import type { AlertView } from '../../src/admin/view.js'
import type { Alert } from '../../src/health/alerts.js'
import { ActiveMonitor, serviceHealthChecks } from '../../src/health/active-monitor.js'
import { History, historyOptions } from '../../src/health/history.js'
import { historyLayer } from '../../src/health/history-layer.js'
import { EndpointStateTracker } from '../../src/health/state-tracker.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'
import { request, startUpstream, type Handler } from '../helpers/upstream.js'

t.test('an endpoint failing /health receives no proxied traffic until it passes again; history shows why', async (t) => {
  let healthA = 200
  const handler = (health: () => number): Handler => (req, res) => {
    if (req.url === '/health') return void res.writeHead(health()).end()
    res.writeHead(200).end('hello')
  }
  const a = await startUpstream('a', handler(() => healthA))
  const b = await startUpstream('b', handler(() => 200))
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const raw = oneListener([{ match: { pathPrefix: '/' }, service: 'pay' }], {
    pay: {
      strategy: 'round-robin',
      endpoints: [{ address: a.address }, { address: b.address }],
      panicThreshold: 0,
      healthCheck: { http: { path: '/health', expectStatus: '200' }, interval: '20ms', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 2, jitter: 0 },
    },
  })
  const config = parseConfig(JSON.stringify(raw), 'test.yaml')
  const clock = systemClock
  const monitor = new ActiveMonitor({ configFor: serviceHealthChecks(() => config.services), clock, random: seededRandom(7) })
  const history = new History(historyOptions(config.health, clock, config.alerts))
  monitor.on({ checked: (c) => history.recordCheck(c.endpoint, c.ok, c.at) })
  const s = await startSidecar(raw, { health: monitor, clock, layers: [historyLayer(history, clock)] })
  t.teardown(() => s.stop())
  t.equal(history.bucketMs, 10_000)
  const tracker = new EndpointStateTracker((ep, from, to, reason, now) => history.transition(ep, from, to, reason, now), () => clock.now())
  tracker.observe(s.sidecar.registry.service('pay')!)
  const pay = s.sidecar.registry.service('pay')!
  const epA = pay.get(a.address)!
  t.ok(await waitFor(() => pay.snapshot.all.every((e) => e.activeHealth === 'healthy')), 'both healthy')

  const proxied = (up: typeof a) => up.seen.filter((r) => r.url !== '/health').length
  let okCount = 0
  for (let i = 0; i < 10; i++) okCount += (await request(s.port, { path: '/x' })).status === 200 ? 1 : 0
  t.equal(okCount, 10)
  t.ok(proxied(a) > 0 && proxied(b) > 0, 'traffic to both')

  healthA = 500
  t.ok(await waitFor(() => epA.activeHealth === 'unhealthy'), 'a marked unhealthy')
  const before = proxied(a)
  okCount = 0
  for (let i = 0; i < 20; i++) okCount += (await request(s.port, { path: '/y' })).status === 200 ? 1 : 0
  t.equal(okCount, 20, 'all answered by b')
  t.equal(proxied(a), before, 'no proxied request reached a while unhealthy')

  healthA = 200
  t.ok(await waitFor(() => epA.activeHealth === 'healthy'), 'a healthy again')
  for (let i = 0; i < 10; i++) await request(s.port, { path: '/z' })
  t.ok(proxied(a) > before, 'a receives traffic again')

  const h = history.endpointHistory(epA.id)!
  const now = h.buckets.reduce((n, x) => n + x.requests, 0)
  t.equal(now, proxied(a), 'every proxied request to a is in its history')
  t.ok(h.buckets.reduce((n, x) => n + x.checksFailed, 0) >= 2, 'failed checks counted')
  t.match(h.transitions, [
    { from: 'healthy', to: 'unhealthy', reason: 'HTTP 500 from /health' },
    { from: 'unhealthy', to: 'healthy', reason: 'ok' },
  ])
  // the admin side reads these shapes as they are
  const reader: HistoryReader = history
  // (the buckets are compared without the newest: a 10 s bucket boundary may pass between the two reads)
  const again = reader.endpointHistory(epA.id, 0)!
  t.same(again.transitions, h.transitions)
  t.same(again.buckets.slice(0, h.buckets.length - 1), h.buckets.slice(0, -1))
  const asView = (a: readonly Alert[]): readonly AlertView[] => a
  t.same(asView([]), [])
  const summary = history.serviceSummary('pay', pay.snapshot.all)
  t.same(summary.endpoints.map((e) => e.state), ['healthy', 'healthy'])
  t.equal(summary.endpoints.reduce((n, e) => n + e.requests, 0), 40)
})
