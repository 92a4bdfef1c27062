/**
 * Issue 14 tracing, end to end through a real Runtime on loopback: a test OTLP receiver decodes
 * what the exporter sends. A request with two tries gives one server span (continuing the
 * incoming traceparent) and two client spans, its children, whose ids the upstream saw in its
 * traceparent; sampling 0 records nothing but still propagates a traceparent; tracing off leaves
 * traceparent alone; a collector that is down is logged once and counted, and stop() still ends.
 */
import t from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { request, startUpstream, type Upstream } from '../helpers/upstream.js'
import { startRuntime, until } from '../helpers/runtime.js'
import { KIND_CLIENT, KIND_SERVER, startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const NO_LAG = { eventLoopLagThreshold: '10s' }
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/

/** Two upstreams sharing a counter: the first try of the test answers 503, every other one 200. */
async function flakyPair(): Promise<Upstream[]> {
  let n = 0
  const handler = (_req: IncomingMessage, res: ServerResponse) => {
    if (n++ === 0) res.writeHead(503).end('busy')
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  }
  return Promise.all([startUpstream('a', handler), startUpstream('b', handler)])
}

async function sidecar(ups: Upstream[], tracing: Record<string, unknown> | undefined) {
  return startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ name: 'api', match: {}, service: 'svc', retries: { attempts: 2, on: ['503', 'connect-failure'], backoff: { base: '1ms', max: '2ms' } } }] }],
    services: { svc: { strategy: 'round-robin', endpoints: ups.map((u) => ({ address: u.address })) } },
    ...(tracing === undefined ? {} : { tracing }),
  })
}

function seenTraceparents(ups: Upstream[]): string[] {
  return ups.flatMap((u) => u.seen.map((s) => String(s.headers.traceparent)))
}

t.test('a request with two tries: one server span continuing the caller, two client spans whose ids the upstreams saw', async (t) => {
  const ups = await flakyPair()
  const otlp = await startOtlpReceiver()
  const rt = await sidecar(ups, { otlp: { endpoint: otlp.url, headers: { 'x-api-key': 'k1' } }, sampling: 1, serviceName: 'edge' })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await rt.stop()
    await Promise.all([...ups.map((u) => u.close()), otlp.close()])
  })
  const before = Date.now()
  const reply = await request(rt.port, { path: '/orders?id=7', headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=x', 'user-agent': 'tracing-test' } })
  t.equal(reply.status, 200, 'the retry answered')
  const seen = ups.flatMap((u) => u.seen)
  t.equal(seen.length, 2, 'two tries reached the upstreams')
  const parents = seenTraceparents(ups).map((v) => TRACEPARENT.exec(v))
  t.ok(parents.every((m) => m !== null && m[1] === TRACE && m[3] === '01'), `each try carried the caller's trace id, sampled (${seenTraceparents(ups).join(', ')})`)
  t.ok(seen.every((s) => s.headers.tracestate === 'vendor=x'), 'tracestate passes unchanged')
  const tryIds = parents.map((m) => m![2]!)
  t.not(tryIds[0], tryIds[1], 'each try has its own span id')
  t.not(tryIds[0], PARENT, 'the upstream sees commy’s span as its parent, not the caller’s')

  // stop() flushes the queue to the collector
  await rt.stop()
  stopped = true
  t.equal(otlp.spans.length, 3, 'three spans received')
  t.equal(otlp.requests[0]?.['x-api-key'], 'k1', 'the configured headers are sent')
  const server = otlp.spans.find((s) => s.kind === KIND_SERVER)!
  const clients = otlp.spans.filter((s) => s.kind === KIND_CLIENT).sort((a, b) => Number(a.attributes['commy.try']) - Number(b.attributes['commy.try']))
  t.ok(server, 'one server span')
  t.equal(clients.length, 2, 'two client spans')
  t.equal(server.traceId, TRACE, 'the server span continues the incoming trace')
  t.equal(server.parentSpanId, PARENT, '... as a child of the caller’s span')
  t.equal(server.name, 'GET api')
  t.match(server.attributes, { 'http.request.method': 'GET', 'url.path': '/orders', 'http.response.status_code': 200, 'commy.route': 'api', 'commy.service': 'svc', 'commy.tries': 2, 'user_agent.original': 'tracing-test', 'client.address': '127.0.0.1' })
  t.equal(server.status.code, 0, 'the request succeeded: status unset')
  t.same(server.resource['service.name'], 'edge', 'service.name from the config')
  t.equal(server.resource['service.instance.id'], rt.config.node.name, 'service.instance.id: the node')
  t.same(server.events.map((e) => [e.name, e.attributes['commy.try'], e.attributes['commy.retry.reason']]), [['commy.retry', 2, 'status 503']], 'the retry is an event on the server span')
  for (const [i, c] of clients.entries()) {
    t.equal(c.traceId, TRACE, `try ${i + 1}: same trace`)
    t.equal(c.parentSpanId, server.spanId, `try ${i + 1}: child of the server span`)
    t.equal(c.spanId, tryIds[i], `try ${i + 1}: the span id the upstream saw`)
    t.ok(c.startMs >= server.startMs - 0.01 && c.endMs <= server.endMs + 0.01, `try ${i + 1}: inside the server span`)
  }
  t.match(clients[0]!.attributes, { 'commy.try': 1, 'http.response.status_code': 503, 'error.type': '503', 'commy.service': 'svc', 'server.address': '127.0.0.1' })
  t.equal(clients[0]!.status.code, 2, 'the 503 try is an error')
  t.match(clients[1]!.attributes, { 'commy.try': 2, 'http.response.status_code': 200, 'http.request.resend_count': 1 })
  t.equal(clients[1]!.attributes['error.type'], undefined)
  t.ok(clients[0]!.endMs <= clients[1]!.startMs + 0.01, 'the retry starts after the first try ended')
  const ports = new Set(clients.map((c) => c.attributes['server.port']))
  t.same([...ports].sort(), ups.map((u) => u.port).sort(), 'the two tries went to the two endpoints (server.port)')
  t.ok(server.startMs >= before - 5 && server.endMs <= Date.now() + 5, 'times are wall-clock (monotonic clock converted)')
})

t.test('sampling 0: no spans, but a traceparent (unsampled) still reaches the upstream; a sampled caller is still honoured', async (t) => {
  const up = await startUpstream('a')
  const otlp = await startOtlpReceiver()
  const rt = await sidecar([up], { otlp: { endpoint: otlp.url }, sampling: 0 })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await rt.stop()
    await Promise.all([up.close(), otlp.close()])
  })
  t.equal((await request(rt.port, { path: '/a' })).status, 200)
  const unsampled = `00-${TRACE}-${PARENT}-00`
  t.equal((await request(rt.port, { path: '/b', headers: { traceparent: unsampled } })).status, 200)
  const [fresh, passed] = up.seen.map((s) => String(s.headers.traceparent))
  const m = TRACEPARENT.exec(fresh!)
  t.ok(m !== null && m[3] === '00', `a new unsampled traceparent was added (${fresh})`)
  t.equal(passed, unsampled, 'an unsampled caller’s traceparent passes unchanged')
  // parent-based: the caller decided to sample
  t.equal((await request(rt.port, { path: '/c', headers: { traceparent: `00-${TRACE}-${PARENT}-01` } })).status, 200)
  await rt.stop()
  stopped = true
  t.same(
    otlp.spans.map((s) => [s.kind, s.attributes['url.path'] ?? s.attributes['commy.try']]),
    [
      [KIND_CLIENT, 1],
      [KIND_SERVER, '/c'],
    ],
    'only the sampled caller’s request was recorded',
  )
  t.equal(rt.runtime.tracer?.counts().exported, 2)
})

t.test('tracing off: traceparent passes unchanged and none is added', async (t) => {
  const up = await startUpstream('a')
  const rt = await sidecar([up], undefined)
  t.teardown(async () => {
    await rt.stop()
    await up.close()
  })
  t.equal(rt.runtime.tracer, undefined, 'no tracer')
  const incoming = `00-${TRACE}-${PARENT}-01`
  await request(rt.port, { path: '/x', headers: { traceparent: incoming } })
  await request(rt.port, { path: '/y' })
  t.equal(up.seen[0]!.headers.traceparent, incoming, 'passed through')
  t.equal(up.seen[1]!.headers.traceparent, undefined, 'none added')
})

t.test('a collector that refuses: logged once, counted in commy_trace_spans_dropped_total, stop() still ends', async (t) => {
  const up = await startUpstream('a')
  const otlp: OtlpReceiver = await startOtlpReceiver()
  otlp.status = 400 // not retryable: each export fails at once
  const rt = await sidecar([up], { otlp: { endpoint: otlp.url, timeout: '500ms' } })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await rt.stop()
    await Promise.all([up.close(), otlp.close()])
  })
  for (let i = 0; i < 3; i++) {
    t.equal((await request(rt.port, { path: `/${i}` })).status, 200, 'requests are unaffected')
    await until(() => otlp.requests.length > i, 5000)
  }
  t.ok(await until(() => (rt.runtime.tracer?.counts().failed ?? 0) >= 6, 5000), 'spans of failed exports counted')
  t.equal(rt.lines.filter((l) => l.msg === String(l.msg) && String(l.msg).startsWith('trace export failing')).length, 1, 'logged once for the episode')
  const admin = rt.runtime.admin.address()!
  const metrics = await request(admin.port, { path: '/metrics' })
  t.match(metrics.body, /commy_trace_spans_dropped_total\{reason="export_failed"\} [6-9]/, 'counted in /metrics')
  t.match(metrics.body, /commy_trace_spans_dropped_total\{reason="queue_full"\} 0/)
  otlp.status = 200
  t.equal((await request(rt.port, { path: '/ok' })).status, 200)
  const started = Date.now()
  await rt.stop()
  stopped = true
  t.ok(Date.now() - started < 5000, 'stop() ends')
  t.ok(rt.lines.some((l) => l.msg === 'trace export recovered'), 'the recovery is logged')
  t.equal(otlp.spans.length, 2, 'spans after the recovery arrive')
})
