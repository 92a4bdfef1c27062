/**
 * The golden metrics in /metrics (admin/golden-tries.ts, golden-metrics.ts, request-metrics.ts),
 * fed by request records as the admin plugin's observer feeds them, parsed with the strict
 * text-format parser: tries by endpoint and outcome (retries and upgrades included), zero
 * series before any traffic, bytes, connections, the last reload, bounded cardinality.
 */
import t from 'tap'
import { Metrics } from '../../src/admin/metrics.js'
import { requestMetrics } from '../../src/admin/request-observer.js'
import { ManualClock } from '../../src/clock.js'
import { requestRecord, type TryRecord } from '../../src/proxy/request-record.js'
import { parseProm, samples, total } from '../helpers/prom-parse.js'
import { FakeSidecar } from '../helpers/admin-fake.js'
import { goldenReader } from '../../src/admin/golden-signals.js'

const tryOf = (endpoint: string, status: number | undefined, code?: string): TryRecord => ({ endpoint, startedAt: 0, endedAt: 1, status, code })

function record(o: { route?: string; service?: string; status: number; tries: TryRecord[]; code?: string; bytesIn?: number; bytesOut?: number; listener?: string }) {
  return requestRecord({
    listener: o.listener ?? 'public',
    method: 'GET',
    url: '/x',
    route: { name: o.route ?? 'api', service: o.service ?? 'payments' },
    endpoint: o.tries.at(-1)?.endpoint,
    status: o.status,
    startedAt: 0,
    endedAt: 5,
    bytesIn: o.bytesIn ?? 0,
    bytesOut: o.bytesOut ?? 0,
    attempts: o.tries.length,
    requestId: 'r',
    code: o.code,
    tries: o.tries,
  })
}

t.test('before any traffic every known series is there at 0', async (t) => {
  const m = new Metrics({ defaultMetrics: false, source: new FakeSidecar(), clock: new ManualClock(5_000) })
  m.declareRoutes([
    { listener: 'public', route: 'api', service: 'payments' },
    { listener: 'public', route: 'find', service: 'search' },
  ])
  const fams = parseProm(await m.text())
  const tries = samples(fams, 'commy_upstream_tries_total')
  t.equal(tries.length, 5 * 4, 'five endpoints × 1xx..5xx')
  t.ok(tries.every((s) => s.value === 0))
  t.same(new Set(tries.map((s) => s.labels.outcome)), new Set(['2xx', '3xx', '4xx', '5xx']))
  t.equal(samples(fams, 'commy_upstream_tries_total', { service: 'payments', endpoint: '10.0.0.3:8080', outcome: '5xx' }).length, 1)
  const requests = samples(fams, 'commy_requests_total', { route: 'api' })
  t.equal(requests.length, 3 * 4 + 1, 'three endpoints × 2xx..5xx, and endpoint="none" 5xx')
  t.ok(requests.every((s) => s.value === 0))
  t.equal(samples(fams, 'commy_requests_total', { route: 'api', endpoint: 'none', code_class: '5xx' }).length, 1)
  for (const name of ['commy_request_bytes_total', 'commy_response_bytes_total']) {
    t.same(samples(fams, name).map((s) => [s.labels.route, s.value]).sort(), [['api', 0], ['find', 0]], `${name} per declared route`)
  }
  t.equal(samples(fams, 'commy_upstream_connections', { endpoint: '10.0.1.2:9200' })[0]?.value, 0, 'upstream connections of an endpoint without a pool')
  t.equal(samples(fams, 'commy_upstream_connections_opened_total').length, 5)
  t.equal(samples(fams, 'commy_ejections_total').length, 5, 'ejections of every known endpoint from 0')
  t.equal(samples(fams, 'commy_breaker_transitions_total', { endpoint: '10.0.0.1:8080' }).length, 3, 'breaker transitions by state from 0')
  t.equal(samples(fams, 'commy_health_checks_total', { endpoint: '10.0.1.1:9200' }).length, 2, 'checks pass and fail from 0')
  t.same(samples(fams, 'commy_retries_total').map((s) => [s.labels.service, s.value]).sort(), [['payments', 0], ['search', 0]], 'retries per service from 0')
  t.equal(samples(fams, 'commy_retry_budget_exhausted_total').length, 2)
  t.equal(total(fams, 'commy_config_last_reload_success'), 1, 'the start is a successful load')
  t.equal(total(fams, 'commy_config_last_reload_success_timestamp_seconds'), 5)
  for (const [name, type] of [
    ['commy_upstream_tries_total', 'counter'],
    ['commy_request_bytes_total', 'counter'],
    ['commy_response_bytes_total', 'counter'],
    ['commy_downstream_connections', 'gauge'],
    ['commy_downstream_connections_opened_total', 'counter'],
    ['commy_downstream_connections_closed_total', 'counter'],
    ['commy_upstream_connections', 'gauge'],
    ['commy_upstream_connections_opened_total', 'counter'],
    ['commy_upstream_connections_closed_total', 'counter'],
    ['commy_config_last_reload_success', 'gauge'],
    ['commy_config_last_reload_success_timestamp_seconds', 'gauge'],
  ] as const) {
    t.equal(fams.get(name)?.type, type, `${name} is a ${type}`)
    t.ok((fams.get(name)?.help ?? '').length > 10, `${name} has help`)
  }
})

t.test('every try counts on its endpoint, by status class or error code', async (t) => {
  const m = new Metrics({ defaultMetrics: false, source: new FakeSidecar() })
  const observe = requestMetrics(m)
  const bad = '10.0.0.1:8080'
  const good = '10.0.0.2:8080'
  // 10 requests: the bad endpoint fails 9 of its 10 tries, each retried on the good one
  for (let i = 0; i < 10; i++) {
    const tries = i < 9 ? [tryOf(bad, 503), tryOf(good, 200)] : [tryOf(bad, 200)]
    observe(record({ status: 200, tries, bytesIn: 10, bytesOut: 100 }))
  }
  observe(record({ status: 502, code: 'COMMY_ERR_UPSTREAM_CONNECT', tries: [tryOf(good, undefined, 'COMMY_ERR_UPSTREAM_CONNECT')] }))
  observe(record({ status: 101, tries: [tryOf(good, 101)] }))
  observe(record({ status: 200, tries: [tryOf(good, undefined, undefined)] }))
  const fams = parseProm(await m.text())
  const tries = (endpoint: string, outcome: string) => total(fams, 'commy_upstream_tries_total', { service: 'payments', endpoint, outcome })
  t.equal(tries(bad, '5xx'), 9, '9 failed tries of the bad endpoint')
  t.equal(tries(bad, '2xx'), 1)
  t.equal(tries(good, '2xx'), 9)
  t.equal(tries(good, 'COMMY_ERR_UPSTREAM_CONNECT'), 1, 'an error code is the outcome of a try without a status')
  t.equal(tries(good, '1xx'), 1, 'an upgrade')
  t.equal(tries(good, 'unknown'), 1, 'neither status nor code: counted as unknown')
  t.equal(tries(good, '4xx'), 0, 'known classes stay at 0')
  t.equal(total(fams, 'commy_requests_total', { route: 'api', code_class: '2xx' }), 11, 'the client saw only successes (10 + the unknown try)')
  t.equal(total(fams, 'commy_requests_total', { route: 'api', endpoint: bad, code_class: '5xx' }), 0, 'requests_total hides the failures (last endpoint only)')
  t.equal(total(fams, 'commy_retries_total', { service: 'payments' }), 9)
  t.equal(total(fams, 'commy_request_bytes_total', { route: 'api' }), 100)
  t.equal(total(fams, 'commy_response_bytes_total', { route: 'api' }), 1000)
  t.equal(total(fams, 'commy_request_duration_seconds_count', { route: 'api', code_class: '5xx' }), 1, 'latency by status class')
  t.equal(total(fams, 'commy_request_duration_seconds_count', { route: 'api', code_class: '2xx' }), 11)

  m.forgetEndpoint('payments', bad)
  const after = parseProm(await m.text())
  t.equal(samples(after, 'commy_upstream_tries_total', { endpoint: bad, outcome: '5xx' })[0]?.value, 0, 'a departed endpoint loses its counts (the fake still lists it: from 0)')
})

t.test('tries per service are bounded: endpoints past the cap count as _other', async (t) => {
  const m = new Metrics({ defaultMetrics: false, maxEndpointsPerRoute: 3 })
  const observe = requestMetrics(m)
  for (let i = 0; i < 10; i++) observe(record({ status: 200, tries: [tryOf(`10.9.0.${i}:80`, 200)] }))
  const fams = parseProm(await m.text())
  const eps = new Set(samples(fams, 'commy_upstream_tries_total').map((s) => s.labels.endpoint))
  t.same([...eps].sort(), ['10.9.0.0:80', '10.9.0.1:80', '10.9.0.2:80', '_other'])
  t.equal(total(fams, 'commy_upstream_tries_total', { endpoint: '_other', outcome: '2xx' }), 7)
})

t.test('connections are read at scrape time from the data plane', async (t) => {
  const m = new Metrics({ defaultMetrics: false, source: new FakeSidecar() })
  const down = new Map([['public', { opened: 7, closed: 5, open: 2 }]])
  const up = [{ service: 'payments', endpoint: '10.0.0.1:8080', opened: 4, closed: 1 }]
  let reads = 0
  m.followConnections(() => {
    reads++
    return { downstream: down, upstream: up }
  })
  const fams = parseProm(await m.text())
  t.equal(reads, 1, 'one read per scrape for the six families')
  t.equal(total(fams, 'commy_downstream_connections', { listener: 'public' }), 2)
  t.equal(total(fams, 'commy_downstream_connections_opened_total', { listener: 'public' }), 7)
  t.equal(total(fams, 'commy_downstream_connections_closed_total', { listener: 'public' }), 5)
  t.equal(total(fams, 'commy_upstream_connections', { endpoint: '10.0.0.1:8080' }), 3)
  t.equal(total(fams, 'commy_upstream_connections_opened_total', { endpoint: '10.0.0.1:8080' }), 4)
  t.equal(total(fams, 'commy_upstream_connections_closed_total', { endpoint: '10.0.0.1:8080' }), 1)
  t.equal(total(fams, 'commy_upstream_connections', { endpoint: '10.0.0.2:8080' }), 0, 'known endpoint without connections')
  down.set('public', { opened: 9, closed: 9, open: 0 })
  const again = parseProm(await m.text())
  t.equal(reads, 2)
  t.equal(total(again, 'commy_downstream_connections', { listener: 'public' }), 0)
  t.equal(total(again, 'commy_downstream_connections_opened_total', { listener: 'public' }), 9)
})

t.test('the last reload: 0 after a refused one, 1 and a new timestamp after a good one', async (t) => {
  const clock = new ManualClock(10_000)
  const m = new Metrics({ defaultMetrics: false, clock })
  clock.advance(50_000)
  m.configReload(false)
  let fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_config_last_reload_success'), 0)
  t.equal(total(fams, 'commy_config_last_reload_success_timestamp_seconds'), 10, 'the last success is still the start')
  clock.advance(40_000)
  m.configReload(true)
  fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_config_last_reload_success'), 1)
  t.equal(total(fams, 'commy_config_last_reload_success_timestamp_seconds'), 100)
})

t.test('a reload that removes a route drops its series; the observer follows a route added again', async (t) => {
  const m = new Metrics({ defaultMetrics: false })
  const observe = requestMetrics(m)
  m.declareRoutes([{ listener: 'public', route: 'api', service: 'payments' }])
  observe(record({ status: 200, tries: [tryOf('e:1', 200)] }))
  m.declareRoutes([{ listener: 'public', route: 'other', service: 'payments' }])
  let fams = parseProm(await m.text())
  t.equal(samples(fams, 'commy_request_bytes_total', { route: 'api' }).length, 0, 'api is gone')
  t.equal(samples(fams, 'commy_request_bytes_total', { route: 'other' }).length, 1)
  m.declareRoutes([{ listener: 'public', route: 'api', service: 'payments' }])
  observe(record({ status: 200, tries: [tryOf('e:1', 200)], bytesOut: 3 }))
  fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_response_bytes_total', { route: 'api' }), 3, 'counted on the new recorder')
  t.equal(total(fams, 'commy_upstream_tries_total', { endpoint: 'e:1', outcome: '2xx' }), 2, 'tries are per service and outlive the route')
})

t.test('gRPC calls by final status name, for /v1/services and the dashboard', async (t) => {
  const m = new Metrics({ defaultMetrics: false, source: new FakeSidecar(), clock: new ManualClock(5_000) })
  t.equal(m.grpcStatuses('ledger'), undefined, 'nothing before the first call')
  for (const status of [0, 0, 0, 14, 5, 99]) m.grpcResponse('ledger', status)
  t.same(m.grpcStatuses('ledger'), { OK: 3, NOT_FOUND: 1, UNAVAILABLE: 1, other: 1 })
  t.equal(m.grpcStatuses('payments'), undefined, 'per service')
  const reader = goldenReader(m, undefined)
  t.same(reader.service('ledger', []).grpcStatus, { OK: 3, NOT_FOUND: 1, UNAVAILABLE: 1, other: 1 }, 'the service signals carry them')
  t.notOk('grpcStatus' in reader.service('payments', []), 'absent for a service without gRPC calls')
  t.equal(total(parseProm(await m.registry.metrics()), 'commy_grpc_responses_total', { service: 'ledger', grpc_status: '0' }), 3, 'the Prometheus counter agrees')
})
