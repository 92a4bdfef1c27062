import t from 'tap'
import client from 'prom-client'
import { Metrics } from '../../src/admin/metrics.js'
import { DROP_REASONS, type DropKind, type DropReason } from '../../src/membership/counters.js'
import { codeClassIndex } from '../../src/admin/request-metrics.js'
import { parseProm, samples, total } from '../helpers/prom-parse.js'
import { FakeSidecar } from '../helpers/admin-fake.js'

const ISSUE_METRICS = [
  ['commy_requests_total', 'counter'],
  ['commy_request_duration_seconds', 'histogram'],
  ['commy_requests_in_flight', 'gauge'],
  ['commy_retries_total', 'counter'],
  ['commy_retry_budget_exhausted_total', 'counter'],
  ['commy_breaker_state', 'gauge'],
  ['commy_breaker_transitions_total', 'counter'],
  ['commy_ejections_total', 'counter'],
  ['commy_health_checks_total', 'counter'],
  ['commy_members', 'gauge'],
  ['commy_gossip_messages_total', 'counter'],
  ['commy_gossip_bytes_total', 'counter'],
  ['commy_gossip_auth_failures_total', 'counter'],
  ['commy_gossip_dropped_total', 'counter'],
  ['commy_config_reloads_total', 'counter'],
  ['commy_endpoints', 'gauge'],
  ['commy_info', 'gauge'],
] as const

t.test('every metric of the issue is declared with HELP and TYPE, plus default process metrics', async (t) => {
  const m = new Metrics({ source: new FakeSidecar() })
  const fams = parseProm(await m.text())
  for (const [name, type] of ISSUE_METRICS) {
    const f = fams.get(name)
    t.ok(f, `${name} declared`)
    t.equal(f?.type, type, `${name} is a ${type}`)
    t.ok(f?.help && f.help.length > 5, `${name} has help`)
  }
  t.ok(fams.get('process_cpu_user_seconds_total'), 'default process metrics collected')
  t.ok(fams.get('nodejs_eventloop_lag_seconds'), 'event loop lag collected')
  t.equal(client.register.getMetricsAsArray().length, 0, 'the global default registry stays empty')
})

t.test('request counters and histogram match a known load', async (t) => {
  const m = new Metrics({ defaultMetrics: false })
  const api = m.route('public', 'api', 'payments')
  const web = m.route('public', 'web', 'search')
  t.equal(m.route('public', 'api', 'payments'), api, 'route recorders are cached')
  const statuses = [200, 201, 204, 301, 404, 499, 500, 503, 0]
  let expectedSum = 0
  const expected = new Map<string, number>()
  for (let i = 0; i < 1000; i++) {
    const status = statuses[i % statuses.length]!
    const endpoint = i % 4 === 0 ? '10.0.0.1:8080' : '10.0.0.2:8080'
    const seconds = (i % 50) / 1000
    api.done(endpoint, status, seconds)
    expectedSum += seconds
    const cls = ['1xx', '2xx', '3xx', '4xx', '5xx', 'error'][codeClassIndex(status)]!
    const key = `${endpoint}|${cls}`
    expected.set(key, (expected.get(key) ?? 0) + 1)
  }
  for (let i = 0; i < 37; i++) web.done(undefined, 503, 0.0001)

  const fams = parseProm(await m.text())
  for (const [key, n] of expected) {
    const [endpoint, code_class] = key.split('|') as [string, string]
    t.equal(
      total(fams, 'commy_requests_total', { listener: 'public', route: 'api', service: 'payments', endpoint, code_class }),
      n,
      `requests_total ${endpoint} ${code_class}`,
    )
  }
  t.equal(total(fams, 'commy_requests_total', { route: 'api' }), 1000)
  t.equal(total(fams, 'commy_requests_total', { route: 'web', endpoint: 'none', code_class: '5xx' }), 37, 'no endpoint picked -> endpoint="none"')

  // the histogram is by status class: one series set per class seen (1xx never is)
  const count = samples(fams, 'commy_request_duration_seconds_count', { route: 'api' })
  t.same(count.map((c) => c.labels.code_class).sort(), ['2xx', '3xx', '4xx', '5xx', 'error'])
  t.equal(total(fams, 'commy_request_duration_seconds_count', { route: 'api' }), 1000)
  for (const c of count) t.equal(c.value, [...expected].filter(([k]) => k.endsWith(`|${c.labels.code_class}`)).reduce((a, [, n]) => a + n, 0), `count of ${c.labels.code_class}`)
  t.ok(Math.abs(total(fams, 'commy_request_duration_seconds_sum', { route: 'api' }) - expectedSum) < 1e-9, 'sum of seconds')
  for (const c of count) {
    const buckets = samples(fams, 'commy_request_duration_seconds_bucket', { route: 'api', code_class: c.labels.code_class! })
    let prev = 0
    for (const b of buckets) {
      t.ok(b.value >= prev, `${c.labels.code_class} bucket le=${b.labels.le} is cumulative`)
      prev = b.value
    }
    t.equal(buckets.at(-1)!.labels.le, '+Inf')
    t.equal(buckets.at(-1)!.value, c.value)
  }
  // i%50 ms: 0..49 ms, each value 20 times; le=0.01 holds 0..10 ms => 11 values
  t.equal(total(fams, 'commy_request_duration_seconds_bucket', { route: 'api', le: '0.01' }), 11 * 20)
  t.equal(fams.get('commy_request_duration_seconds')!.samples.length, (5 + 1) * (15 + 1 + 2), '(5 classes of api + 1 of web) × (15 bounds + Inf + sum + count)')
})

t.test('scrape-time gauges mirror the source', async (t) => {
  const fake = new FakeSidecar()
  const m = new Metrics({ defaultMetrics: false })
  let fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_members'), 0, 'no source: gauges empty but valid')
  m.setSource(fake)
  fake.setBreaker('payments~10.0.0.2:8080', 'open')
  fake.setBreaker('search~10.0.1.1:9200', 'half-open')
  fake.endpoint('payments~10.0.0.3:8080').activeHealth = 'unhealthy'
  fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_breaker_state', { service: 'payments', endpoint: '10.0.0.2:8080' }), 2, 'open = 2')
  t.equal(total(fams, 'commy_breaker_state', { service: 'search', endpoint: '10.0.1.1:9200' }), 1, 'half-open = 1')
  t.equal(total(fams, 'commy_breaker_state', { service: 'payments', endpoint: '10.0.0.1:8080' }), 0, 'closed = 0')
  t.equal(total(fams, 'commy_endpoints', { service: 'payments', state: 'healthy' }), 1)
  t.equal(total(fams, 'commy_endpoints', { service: 'payments', state: 'ejected' }), 1)
  t.equal(total(fams, 'commy_endpoints', { service: 'payments', state: 'unhealthy' }), 1)
  t.equal(samples(fams, 'commy_endpoints', { service: 'payments', state: 'draining' })[0]?.value, 0, 'zero states are exported')
  t.equal(total(fams, 'commy_members', { state: 'alive' }), 2)
  t.equal(total(fams, 'commy_members', { state: 'suspect' }), 1)
  t.equal(samples(fams, 'commy_members', { state: 'left' })[0]?.value, 0)
  const inflight = fake.endpoints().filter((e) => e.service === 'payments').reduce((a, e) => a + e.inFlight, 0)
  t.equal(total(fams, 'commy_requests_in_flight', { service: 'payments' }), inflight)
  t.equal(total(fams, 'commy_info', { node: 'node-a', config_version: 'c0ffee12', version: '0.1.0' }), 1)
  // the state changes: next scrape follows
  fake.setBreaker('payments~10.0.0.2:8080', 'closed')
  fake.membersList = fake.membersList.slice(0, 1)
  fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_breaker_state', { endpoint: '10.0.0.2:8080' }), 0)
  t.equal(total(fams, 'commy_members', { state: 'suspect' }), 0)
})

t.test('event counters', async (t) => {
  const m = new Metrics({ defaultMetrics: false })
  for (let i = 0; i < 3; i++) m.retry('payments')
  m.retryBudgetExhausted('payments')
  m.breakerTransition('payments', '10.0.0.1:8080', 'open')
  m.breakerTransition('payments', '10.0.0.1:8080', 'half-open')
  m.breakerTransition('payments', '10.0.0.1:8080', 'closed')
  m.ejection('payments', '10.0.0.1:8080')
  for (let i = 0; i < 5; i++) m.healthCheck('payments', '10.0.0.1:8080', i !== 2)
  m.gossipMessage('out', 'ping', 60)
  m.gossipMessage('in', 'ack', 40)
  m.gossipBytes('in', 1000)
  m.gossipAuthFailure()
  m.gossipDrop('stream', 'oversize')
  m.configReload(true)
  m.configReload(false)
  m.configReload(true)
  let fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_retries_total', { service: 'payments' }), 3)
  t.equal(total(fams, 'commy_retry_budget_exhausted_total', { service: 'payments' }), 1)
  t.equal(total(fams, 'commy_breaker_transitions_total', { to: 'open' }), 1)
  t.equal(total(fams, 'commy_breaker_transitions_total'), 3)
  t.equal(total(fams, 'commy_ejections_total', { endpoint: '10.0.0.1:8080' }), 1)
  t.equal(total(fams, 'commy_health_checks_total', { result: 'pass' }), 4)
  t.equal(total(fams, 'commy_health_checks_total', { result: 'fail' }), 1)
  t.equal(total(fams, 'commy_gossip_messages_total', { direction: 'out', type: 'ping' }), 1)
  t.equal(total(fams, 'commy_gossip_bytes_total', { direction: 'in' }), 1040)
  t.equal(total(fams, 'commy_gossip_bytes_total', { direction: 'out' }), 60)
  t.equal(total(fams, 'commy_gossip_auth_failures_total'), 1)
  t.equal(total(fams, 'commy_gossip_dropped_total', { kind: 'stream', reason: 'oversize' }), 1)
  t.equal(total(fams, 'commy_config_reloads_total', { result: 'success' }), 2)
  t.equal(total(fams, 'commy_config_reloads_total', { result: 'failure' }), 1)

  for (let i = 0; i < 100; i++) m.gossipMessage('in', `type-${i}`)
  fams = parseProm(await m.text())
  const types = new Set(samples(fams, 'commy_gossip_messages_total').map((s) => s.labels.type))
  t.ok(types.size <= 33, `gossip type label bounded (${types.size})`)
  t.ok(types.has('other'))
})

t.test('gossip counters followed from a snapshot grow by what it gained between scrapes', async (t) => {
  const m = new Metrics({ defaultMetrics: false })
  const snap: { messagesIn: Record<string, number>; messagesOut: Record<string, number>; bytesIn: number; bytesOut: number; drops: { auth: number }; dropped?: Record<DropKind, Partial<Record<DropReason, number>>> } = {
    messagesIn: { ping: 2 },
    messagesOut: { ack: 1 },
    bytesIn: 100,
    bytesOut: 50,
    drops: { auth: 0 },
  }
  m.followGossip(() => snap)
  let fams = parseProm(await m.text())
  for (const [kind, reasons] of Object.entries(DROP_REASONS)) {
    for (const reason of reasons) t.equal(total(fams, 'commy_gossip_dropped_total', { kind, reason }), 0, `${kind}/${reason} exported at 0`)
  }
  t.equal(total(fams, 'commy_gossip_messages_total', { direction: 'in', type: 'ping' }), 2)
  t.equal(total(fams, 'commy_gossip_bytes_total', { direction: 'out' }), 50)
  snap.messagesIn = { ping: 5, suspect: 1 }
  snap.bytesIn = 400
  snap.drops = { auth: 3 }
  snap.dropped = { packet: { auth: 3, malformed: 2 }, stream: { limit: 4 } }
  fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_gossip_messages_total', { direction: 'in', type: 'ping' }), 5)
  t.equal(total(fams, 'commy_gossip_messages_total', { direction: 'in', type: 'suspect' }), 1)
  t.equal(total(fams, 'commy_gossip_bytes_total', { direction: 'in' }), 400)
  t.equal(total(fams, 'commy_gossip_auth_failures_total'), 3)
  t.equal(total(fams, 'commy_gossip_dropped_total', { kind: 'packet', reason: 'malformed' }), 2)
  t.equal(total(fams, 'commy_gossip_dropped_total', { kind: 'stream', reason: 'limit' }), 4)
  snap.dropped = { packet: { auth: 3, malformed: 2 }, stream: { limit: 6 } }
  fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_gossip_dropped_total', { kind: 'stream', reason: 'limit' }), 6, 'grows by the difference')
  t.equal(total(fams, 'commy_gossip_messages_total', { direction: 'in', type: 'ping' }), 5, 'an unchanged snapshot adds nothing')
})

t.test('label cardinality is bounded and departed endpoints are forgotten', async (t) => {
  const m = new Metrics({ defaultMetrics: false, maxEndpointsPerRoute: 4 })
  const r = m.route('l', 'r', 'svc')
  for (let i = 0; i < 10; i++) r.done(`10.0.0.${i}:80`, 200, 0.001)
  let fams = parseProm(await m.text())
  const eps = new Set(samples(fams, 'commy_requests_total').map((s) => s.labels.endpoint))
  t.same([...eps].sort(), ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '_other', 'none'], '4 endpoints + _other (+ none, from 0)')
  t.equal(total(fams, 'commy_requests_total', { endpoint: '_other' }), 6)
  t.equal(total(fams, 'commy_requests_total'), 10)

  m.breakerTransition('svc', '10.0.0.1:80', 'open')
  m.healthCheck('svc', '10.0.0.1:80', true)
  m.ejection('svc', '10.0.0.1:80')
  m.forgetEndpoint('svc', '10.0.0.1:80')
  fams = parseProm(await m.text())
  t.equal(samples(fams, 'commy_requests_total', { endpoint: '10.0.0.1:80' }).length, 0)
  t.equal(samples(fams, 'commy_breaker_transitions_total', { endpoint: '10.0.0.1:80' }).length, 0)
  t.equal(samples(fams, 'commy_health_checks_total', { endpoint: '10.0.0.1:80' }).length, 0)
  t.equal(samples(fams, 'commy_ejections_total', { endpoint: '10.0.0.1:80' }).length, 0)

  m.forgetRoute('l', 'r', 'svc')
  fams = parseProm(await m.text())
  t.equal(samples(fams, 'commy_requests_total').length, 0, 'route removed by reload')
})

t.test('two sidecars in one process keep separate registries', async (t) => {
  const a = new Metrics({ defaultMetrics: false })
  const b = new Metrics({ defaultMetrics: false })
  a.route('l', 'r', 's').done('x:1', 200, 0.01)
  a.configReload(true)
  const fa = parseProm(await a.text())
  const fb = parseProm(await b.text())
  t.equal(total(fa, 'commy_requests_total'), 1)
  t.equal(total(fb, 'commy_requests_total'), 0)
  t.equal(total(fb, 'commy_config_reloads_total', { result: 'success' }), 0)
  t.match(a.contentType, /^text\/plain/)
})

t.test('label values with quotes, backslashes and newlines are escaped', async (t) => {
  const m = new Metrics({ defaultMetrics: false })
  m.route('l', 'we"ird\\route\nx', 's').done('e:1', 200, 0.01)
  const fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_requests_total', { route: 'we"ird\\route\nx' }), 1)
})

t.test('prom parser refuses malformed exposition', async (t) => {
  t.throws(() => parseProm('metric{a="1} 3\n'))
  t.throws(() => parseProm('metric{a="1"} abc\n'))
  t.throws(() => parseProm('# TYPE m nonsense\n'))
  t.throws(() => parseProm('m 1\n# TYPE m counter\n'))
  t.same([...parseProm('# HELP m the help\n# TYPE m gauge\nm{a="x",b="y"} 1.5e3 1700000000\n').get('m')!.samples], [
    { name: 'm', labels: { a: 'x', b: 'y' }, value: 1500 },
  ])
})

t.test('commy_tls_identity_mismatch_total follows the transport\'s refusals per service', async (t) => {
  const m = new Metrics({ defaultMetrics: false })
  const counts = new Map<string, number>()
  m.followIdentityMismatches(() => counts)
  counts.set('users', 2)
  t.equal(total(parseProm(await m.text()), 'commy_tls_identity_mismatch_total', { service: 'users' }), 2)
  counts.set('users', 3)
  counts.set('orders', 1)
  const fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_tls_identity_mismatch_total', { service: 'users' }), 3)
  t.equal(total(fams, 'commy_tls_identity_mismatch_total', { service: 'orders' }), 1)
})
