import t from 'tap'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import { parseConfig } from '../../src/config/load.js'
import { endpointView, redactConfig, serviceView } from '../../src/admin/views.js'
import { REDACTED } from '../../src/config/secrets.js'
import { toSeries } from '../../src/admin/snapshot.js'
import { breakerIn } from '../helpers/breaker.js'
import type { RedactedConfig } from '../helpers/admin-body.js'

const info = { host: '10.0.0.1', port: 8080, weight: 2, zone: 'eu-1a', tags: ['v2', 'canary'], node: 'node-b' }

t.test('endpointView follows the endpoint through its states', async (t) => {
  const ep = new Endpoint('payments', info, 'gossip', 10_000)
  let v = endpointView(ep, 1000)
  t.same(v, {
    id: 'payments~10.0.0.1:8080',
    service: 'payments',
    address: '10.0.0.1:8080',
    state: 'healthy',
    reason: 'ok',
    eligible: true,
    maintenance: false,
    breaker: 'closed',
    inFlight: 0,
    ewmaLatencyMs: null,
    weight: 2,
    effectiveWeight: 2,
    zone: 'eu-1a',
    tags: ['v2', 'canary'],
    node: 'node-b',
    source: 'gossip',
    requests: 0,
    failures: 0,
  })
  t.doesNotThrow(() => JSON.stringify(v))

  ep.inFlight = 4
  ep.requests = 10
  ep.failures = 1
  ep.latency.observe(12.5, 1000)
  v = endpointView(ep, 1000)
  t.equal(v.ewmaLatencyMs, 12.5)
  t.equal(v.inFlight, 4)

  ep.breaker = breakerIn('half-open')
  t.match(endpointView(ep, 1000), { state: 'healthy', reason: /half-open/, breaker: 'half-open' })
  ep.breaker = breakerIn('open')
  t.match(endpointView(ep, 1000), { state: 'ejected', reason: 'circuit breaker open', eligible: false, breaker: 'open' })
  ep.breaker = breakerIn('closed')
  ep.ejectedUntil = 5000
  ep.ejectionReason = '5 consecutive 5xx'
  t.match(endpointView(ep, 1000), { state: 'ejected', reason: '5 consecutive 5xx' })
  t.match(endpointView(ep, 6000), { state: 'healthy' }, 'ejection expires')
  ep.activeHealth = 'unhealthy'
  ep.activeReason = 'HTTP 500 from /health'
  t.match(endpointView(ep, 6000), { state: 'unhealthy', reason: 'HTTP 500 from /health' })
  ep.weight = 0
  t.match(endpointView(ep, 6000), { state: 'draining', weight: 0 })
  t.same(endpointView(ep, 6000, { rps: 12.5, p99Ms: 30 }).rps, 12.5, 'history numbers can be attached')

  const plain = new Endpoint('s', { host: '::1', port: 80, weight: 1, zone: undefined, tags: [] }, 'static', 1000)
  t.match(endpointView(plain, 0), { id: 's~[::1]:80', address: '[::1]:80', zone: null, node: null })
})

t.test('serviceView counts healthy and eligible endpoints', async (t) => {
  const set = new ServiceEndpoints({ name: 'svc', panicThreshold: 50, slowStartMs: 0, latencyDecayMs: 1000, preferLocalZone: false, localZone: undefined, now: () => 0 })
  set.apply('static', [1, 2, 3, 4].map((i) => ({ host: '10.0.0.1', port: i, weight: 1, zone: undefined, tags: [] })))
  t.same(serviceView('svc', 'round-robin', 'http1', set.snapshot, 0), { name: 'svc', strategy: 'round-robin', protocol: 'http1', endpoints: 4, healthy: 4, eligible: 4, panic: false })
  set.get('10.0.0.1:1')!.breaker = breakerIn('open')
  set.refresh()
  t.match(serviceView('svc', 'round-robin', 'http1', set.snapshot, 0), { healthy: 3, eligible: 3, panic: false })
  set.get('10.0.0.1:2')!.breaker = breakerIn('open')
  set.get('10.0.0.1:3')!.breaker = breakerIn('open')
  set.refresh()
  t.match(serviceView('svc', 'round-robin', 'http1', set.snapshot, 0), { healthy: 1, eligible: 4, panic: true }, 'panic: all are used')
})

const CONFIG = `
node: { name: node-a, zone: eu-1a }
admin: { listen: "127.0.0.1:15000", token: "super-secret-token-123456" }
listeners:
  - name: public
    listen: "127.0.0.1:8080"
    routes: [{ match: { pathPrefix: / }, service: payments }]
services:
  payments:
    endpoints: [{ address: "10.0.0.1:80" }]
    healthCheck:
      http: { path: /health, headers: { Authorization: "Bearer check-secret", X-Trace: "on" } }
gossip:
  listen: "127.0.0.1:7946"
  key: "${Buffer.alloc(32, 7).toString('base64')}"
  keys: ["${Buffer.alloc(32, 9).toString('base64')}"]
alerts:
  webhooks:
    - url: "https://hooks.example.com/services/T000/B000/XXXXSECRET?x=1"
      headers: { X-Api-Key: "hook-secret" }
`

t.test('redactConfig hides every secret and leaves the config alone', async (t) => {
  const cfg = parseConfig(CONFIG, 'sidecar.yaml')
  const red = redactConfig(cfg)
  const text = JSON.stringify(red)
  for (const secret of ['super-secret-token-123456', 'check-secret', 'XXXXSECRET', 'hook-secret', 'T000']) {
    t.notOk(text.includes(secret), `${secret} is not shown`)
  }
  t.notOk(text.includes('"type":"Buffer"'), 'no key bytes')
  const r = red as unknown as RedactedConfig
  t.equal(r.admin.token, REDACTED)
  t.same(r.gossip.keys, [REDACTED, REDACTED], 'key count stays visible')
  t.equal(r.alerts.webhooks[0]!.url, `https://hooks.example.com/${REDACTED}`)
  t.equal(r.alerts.webhooks[0]!.headers['X-Api-Key'], REDACTED)
  t.equal(r.services.payments!.healthCheck.headers.Authorization, REDACTED)
  t.equal(r.services.payments!.healthCheck.headers['X-Trace'], 'on', 'harmless headers stay')
  t.equal(r.node.name, 'node-a')
  t.equal(r.listeners[0]!.routes[0]!.service, 'payments')
  t.equal(cfg.admin.token, 'super-secret-token-123456', 'the frozen config is untouched')
  t.ok(Buffer.isBuffer(cfg.gossip!.keys[0]))

  const noToken = redactConfig(parseConfig(CONFIG.replace(', token: "super-secret-token-123456"', ''), 'sidecar.yaml')) as unknown as RedactedConfig
  t.equal(noToken.admin.token, undefined, 'no token: nothing to redact')
})

t.test('toSeries keeps complete buckets as rates', async (t) => {
  const h = {
    id: 'x',
    bucketMs: 10_000,
    buckets: [0, 1, 2, 3].map((i) => ({ start: i * 10_000, requests: 100 * (i + 1), errors: i, p50: 1, p90: 2, p99: i === 1 ? null : 3, checksOk: 0, checksFailed: 0 })),
    transitions: [],
  }
  const s = toSeries(h, 35_000, 60)
  t.same(s, { start: 0, bucketMs: 10_000, rps: [10, 20, 30], errors: [0, 1, 2], p99: [3, null, 3] }, 'bucket still filling is left out')
  t.same(toSeries(h, 45_000, 2).rps, [30, 40], 'last N points')
})
