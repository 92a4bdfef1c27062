import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { EndpointRegistry } from '../../src/discovery/registry.js'
import { StaticDiscovery } from '../../src/discovery/static.js'
import { AlwaysHealthy } from '../../src/health/health-source.js'
import { createAdminSource } from '../../src/admin/source.js'
import { requestMetrics } from '../../src/admin/request-observer.js'
import { Metrics } from '../../src/admin/metrics.js'
import { AdminServer } from '../../src/admin/server.js'
import type { RequestRecord } from '../../src/proxy/request-record.js'
import { parseProm, total } from '../helpers/prom-parse.js'
import { breakerIn } from '../helpers/breaker.js'
import type { AdminBody, RedactedConfig } from '../helpers/admin-body.js'

const YAML = `
node: { name: node-a, zone: eu-1a }
admin: { listen: "127.0.0.1:0", token: "source-test-token-0123456789" }
listeners:
  - name: public
    listen: "127.0.0.1:0"
    routes:
      - { name: pay, match: { pathPrefix: /pay }, service: payments }
      - { name: find, match: { pathPrefix: / }, service: search }
services:
  payments:
    strategy: latency
    endpoints: [{ address: "127.0.0.1:1001", zone: eu-1a }, { address: "127.0.0.1:1002", zone: eu-1b, tags: [v2] }]
  search:
    endpoints: [{ address: "127.0.0.1:2001" }]
local:
  services: [{ name: payments, address: "127.0.0.1:1001" }]
`

function build() {
  const config = parseConfig(YAML, 'sidecar.yaml')
  const registry = new EndpointRegistry({
    services: config.services,
    localZone: config.node.zone,
    now: () => 0,
    sources: [new StaticDiscovery(config.services)],
    health: new AlwaysHealthy(),
  })
  registry.start()
  let draining = false
  const source = createAdminSource({
    version: '0.1.0',
    config: () => config,
    services: () => registry.services(),
    now: () => 0,
    startedAt: () => 1_700_000_000_000,
    draining: () => draining,
    readiness: () => (draining ? { ready: false, reason: 'draining' } : { ready: true }),
  })
  return { config, registry, source, drain: () => (draining = true) }
}

t.test('an AdminSource over the real endpoint registry, with null defaults', async (t) => {
  const { source, registry, drain } = build()
  t.match(source.node(), { name: 'node-a', zone: 'eu-1a', version: '0.1.0', configVersion: /^[0-9a-f]+$/, draining: false })
  t.same(
    source.services().map((s) => [s.name, s.strategy, s.endpoints, s.healthy]),
    [
      ['payments', 'latency', 2, 2],
      ['search', 'round-robin', 1, 1],
    ],
  )
  const eps = source.endpoints()
  t.same(
    eps.map((e) => e.id),
    ['payments~127.0.0.1:1001', 'payments~127.0.0.1:1002', 'search~127.0.0.1:2001'],
  )
  registry.service('payments')!.get('127.0.0.1:1002')!.breaker = breakerIn('open')
  t.match(source.endpoints()[1], { state: 'ejected', breaker: 'open', zone: 'eu-1b', tags: ['v2'] })
  t.same(source.members(), [{ name: 'node-a', address: '', state: 'alive', incarnation: 0, zone: 'eu-1a', services: ['payments'], self: true }])
  t.same(source.endpointHistory('search~127.0.0.1:2001'), { id: 'search~127.0.0.1:2001', bucketMs: 10_000, buckets: [], transitions: [] })
  t.equal(source.endpointHistory('search~127.0.0.1:9'), undefined)
  t.same(source.alerts(), [])
  const cfg = source.config() as RedactedConfig
  t.equal(cfg.admin.token, '[redacted]')
  t.equal(source.config(), cfg, 'redacted once per config object')
  drain()
  t.equal(source.members()[0]!.state, 'left')
  t.same(source.readiness(), { ready: false, reason: 'draining' })
  registry.stop()
})

t.test('request records feed the metrics', async (t) => {
  const metrics = new Metrics({ defaultMetrics: false })
  const observe = requestMetrics(metrics)
  const rec = (over: Partial<RequestRecord>): RequestRecord => ({
    listener: 'public',
    method: 'GET',
    path: '/pay',
    route: 'pay',
    service: 'payments',
    endpoint: '127.0.0.1:1001',
    status: 200,
    durationMs: 3,
    bytesIn: 0,
    bytesOut: 10,
    attempts: 1,
    requestId: 'r',
    code: undefined,
    tries: [],
    ...over,
  })
  for (let i = 0; i < 120; i++) observe(rec({ status: i < 100 ? 200 : 502, endpoint: i % 2 ? '127.0.0.1:1001' : '127.0.0.1:1002' }))
  for (let i = 0; i < 7; i++) observe(rec({ route: undefined, service: undefined, endpoint: undefined, status: 404, code: 'COMMY_ERR_NO_ROUTE' }))
  observe(rec({ status: 499, durationMs: 2500 }))
  observe(rec({ route: 'find', service: 'search', attempts: 3 }))
  const fams = parseProm(await metrics.text())
  t.equal(total(fams, 'commy_retries_total', { service: 'search' }), 2, 'tries after the first are retries')
  t.equal(total(fams, 'commy_retries_total', { service: 'payments' }), 0)
  t.equal(total(fams, 'commy_requests_total', { route: 'pay', code_class: '2xx' }), 100)
  t.equal(total(fams, 'commy_requests_total', { route: 'pay', code_class: '5xx' }), 20)
  t.equal(total(fams, 'commy_requests_total', { route: 'pay', code_class: '4xx' }), 1)
  t.equal(total(fams, 'commy_requests_total', { route: 'none', service: 'none', endpoint: 'none', code_class: '4xx' }), 7)
  t.equal(total(fams, 'commy_request_duration_seconds_count', { route: 'pay' }), 121)
  t.ok(Math.abs(total(fams, 'commy_request_duration_seconds_sum', { route: 'pay' }) - (120 * 0.003 + 2.5)) < 1e-9)
})

t.test('admin server over the real registry: endpoints, redacted config, token', async (t) => {
  const { source, config, registry } = build()
  const metrics = new Metrics({ source, defaultMetrics: false })
  const server = new AdminServer({
    config: config.admin,
    source,
    actions: { reload: async () => ({ ok: true, version: config.version }), drain: async () => {}, undrain: async () => false, maintenance: () => undefined },
    metrics,
  })
  await server.start()
  t.teardown(async () => {
    await server.stop()
    registry.stop()
  })
  const eps = (await (await fetch(`${server.url}/v1/endpoints`)).json()) as AdminBody
  t.equal(eps.endpoints.length, 3)
  const cfg = (await (await fetch(`${server.url}/v1/config`)).json()) as RedactedConfig
  t.equal(cfg.admin.token, '[redacted]')
  t.equal(JSON.stringify(cfg).includes('source-test-token'), false)
  t.equal((await fetch(`${server.url}/v1/reload`, { method: 'POST' })).status, 401)
  const ok = await fetch(`${server.url}/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${config.admin.token}` } })
  t.equal(ok.status, 200)
  const text = await (await fetch(`${server.url}/metrics`)).text()
  t.equal(total(parseProm(text), 'commy_endpoints', { service: 'payments', state: 'healthy' }), 2)
})
