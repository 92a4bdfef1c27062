import t from 'tap'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { hr, requestSpans, splitHostPort, type TraceIds } from '../../src/tracing/spans.js'
import { requestRecord } from '../../src/proxy/request-record.js'

const stamp = { resource: resourceFromAttributes({ 'service.name': 'commy' }), scope: { name: 'commy' }, wallOffsetMs: 1_700_000_000_000 }

function record(over: Partial<Parameters<typeof requestRecord>[0]> = {}) {
  return requestRecord({
    listener: 'outbound',
    method: 'POST',
    url: '/pay?card=secret',
    route: { name: 'pay', service: 'payments' },
    endpoint: '[::1]:9002',
    status: 502,
    startedAt: 100,
    endedAt: 160,
    bytesIn: 0,
    bytesOut: 0,
    attempts: 2,
    requestId: 'r1',
    code: 'COMMY_ERR_UPSTREAM_RESET',
    host: 'payments:8080',
    tries: [
      { endpoint: '127.0.0.1:9001', startedAt: 101, endedAt: 111, status: undefined, code: 'COMMY_ERR_UPSTREAM_CONNECT' },
      { endpoint: '[::1]:9002', startedAt: 120, endedAt: 150, status: undefined, code: 'COMMY_ERR_UPSTREAM_RESET' },
    ],
    ...over,
  })
}

const ids: TraceIds = { traceId: 'a'.repeat(32), parentSpanId: undefined, serverSpanId: 'b'.repeat(16), trySpanIds: ['c'.repeat(16), 'd'.repeat(16)], startedAt: 100 }

t.test('a failed request: server span with error, client spans per try, retry event, wall times', async (t) => {
  const spans = requestSpans(ids, record(), stamp)
  t.equal(spans.length, 3)
  const server = spans.find((s) => s.kind === SpanKind.SERVER)!
  const [a, b] = spans.filter((s) => s.kind === SpanKind.CLIENT)
  t.equal(server.parentSpanContext, undefined, 'commy started the trace: a root span')
  t.equal(server.name, 'POST pay')
  t.same(server.status, { code: SpanStatusCode.ERROR, message: 'COMMY_ERR_UPSTREAM_RESET' })
  t.match(server.attributes, { 'url.path': '/pay', 'server.address': 'payments', 'server.port': 8080, 'error.type': 'COMMY_ERR_UPSTREAM_RESET', 'http.response.status_code': 502 })
  t.notOk(JSON.stringify(server.attributes).includes('secret'), 'the query is not recorded')
  t.same(server.startTime, hr(1_700_000_000_100))
  t.same(server.endTime, hr(1_700_000_000_160))
  t.same(server.events.map((e) => e.name), ['commy.retry'])
  t.equal(a!.name, 'POST payments')
  t.equal(a!.parentSpanContext?.spanId, ids.serverSpanId)
  t.equal(a!.spanContext().spanId, 'c'.repeat(16))
  t.match(a!.attributes, { 'server.address': '127.0.0.1', 'server.port': 9001, 'error.type': 'COMMY_ERR_UPSTREAM_CONNECT', 'commy.try': 1 })
  t.match(b!.attributes, { 'server.address': '::1', 'server.port': 9002, 'http.request.resend_count': 1 })
  t.same(b!.endTime, hr(1_700_000_000_150), 'a try without a response ends at its outcome')
  t.same(b!.duration, hr(30))
})

t.test('a continued trace: the server span is the remote caller’s child; the answering try lasts until the response is through', async (t) => {
  const r = record({ status: 200, code: undefined, attempts: 1, tries: [{ endpoint: '127.0.0.1:9001', startedAt: 101, endedAt: 105, status: 200, code: undefined }] })
  const spans = requestSpans({ ...ids, parentSpanId: 'e'.repeat(16), trySpanIds: ['c'.repeat(16)] }, r, stamp)
  const server = spans.find((s) => s.kind === SpanKind.SERVER)!
  t.same(server.parentSpanContext, { traceId: ids.traceId, spanId: 'e'.repeat(16), traceFlags: 1, isRemote: true })
  t.same(server.status, { code: SpanStatusCode.UNSET })
  const c = spans.find((s) => s.kind === SpanKind.CLIENT)!
  t.same(c.endTime, server.endTime)
  t.same(c.status, { code: SpanStatusCode.UNSET })
  t.same(server.events, [])
})

t.test('resilience events land on the try whose time they fall in', async (t) => {
  const spans = requestSpans(ids, record(), {
    ...stamp,
    eventsOf: (endpoint, from, to) => (endpoint === '127.0.0.1:9001' && from <= 110 && 110 <= to ? [{ name: 'commy.breaker.open', time: hr(110) }] : []),
  })
  const [a, b] = spans.filter((s) => s.kind === SpanKind.CLIENT)
  t.same(a!.events.map((e) => e.name), ['commy.breaker.open'])
  t.same(b!.events, [])
})

t.test('hr and host:port', async (t) => {
  t.same(hr(1500.25), [1, 500_250_000])
  t.same(hr(999.9999999), [1, 0])
  t.same(splitHostPort('a.b:80'), { host: 'a.b', port: 80 })
  t.same(splitHostPort('[::1]:80'), { host: '::1', port: 80 })
  t.same(splitHostPort('[::1]'), { host: '::1', port: undefined })
  t.same(splitHostPort('host'), { host: 'host', port: undefined })
})
