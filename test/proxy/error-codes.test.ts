import t from 'tap'
import net from 'node:net'
import pino from 'pino'
import { parseConfig } from '../../src/config/load.js'
import { systemClock } from '../../src/clock.js'
import { InternalError, NoHealthyEndpointError, OverloadedError, UpstreamConnectError } from '../../src/errors.js'
import { errorBody } from '../../src/proxy/error-response.js'
import { Forwarder } from '../../src/proxy/forwarder.js'
import { clientErrorAnswer, Listener } from '../../src/proxy/listener.js'
import type { Layer } from '../../src/pipeline/pipeline.js'
import { RequestIds } from '../../src/proxy/request-id.js'
import { RouteTable } from '../../src/proxy/routes.js'
import type { RouteTarget } from '../../src/proxy/targets.js'
import { fromUndiciError } from '../../src/transport/undici-errors.js'
import { json, request, startUpstream } from '../helpers/upstream.js'
import { oneListener, startSidecar, waitFor } from '../helpers/sidecar.js'

/** Writes `text` on a fresh connection and resolves with everything read until the server closes it. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text))
    let buf = ''
    s.on('data', (d) => (buf += d.toString()))
    s.on('close', () => resolve(buf))
    s.on('error', () => resolve(buf))
  })
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>

t.test("Node's client errors: each status has its own code", async (t) => {
  t.match(clientErrorAnswer({ code: 'HPE_HEADER_OVERFLOW' }), { status: 431, code: 'COMMY_ERR_HEADERS_TOO_LARGE' })
  t.match(clientErrorAnswer({ code: 'ERR_HTTP_REQUEST_TIMEOUT' }), { status: 408, code: 'COMMY_ERR_REQUEST_TIMEOUT' })
  t.match(clientErrorAnswer({ code: 'ERR_HTTP_HEADERS_TIMEOUT' }), { status: 408, code: 'COMMY_ERR_REQUEST_TIMEOUT' })
  t.match(clientErrorAnswer({ code: 'HPE_INVALID_METHOD' }), { status: 400, code: 'COMMY_ERR_BAD_REQUEST' })
  t.match(clientErrorAnswer({}), { status: 400, code: 'COMMY_ERR_BAD_REQUEST' })
})

t.test('CONNECT is 405 COMMY_ERR_METHOD_NOT_ALLOWED; oversized headers 431 COMMY_ERR_HEADERS_TOO_LARGE', async (t) => {
  const up = await startUpstream('a')
  const sc = await startSidecar(oneListener([{ match: {}, service: 'a' }], { a: { endpoints: [{ address: up.address }] } }))
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  const connect = await raw(sc.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  t.match(connect, /^HTTP\/1\.1 405 /)
  t.match(bodyOf(connect), { code: 'COMMY_ERR_METHOD_NOT_ALLOWED', error: 'CONNECT is not supported' })
  const big = await raw(sc.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(big, /^HTTP\/1\.1 431 /)
  t.match(bodyOf(big), { code: 'COMMY_ERR_HEADERS_TOO_LARGE' })
  const garbage = await raw(sc.port, 'GARBAGE\r\n\r\n')
  t.match(garbage, /^HTTP\/1\.1 400 /)
  t.match(bodyOf(garbage), { code: 'COMMY_ERR_BAD_REQUEST' })
})

t.test('an Upgrade on a listener without an upgrade transport is 501 COMMY_ERR_UPGRADE_UNSUPPORTED', async (t) => {
  const config = parseConfig(JSON.stringify(oneListener([{ match: {}, service: 'a' }], { a: { endpoints: [{ address: '127.0.0.1:1' }] } })), 'test.yaml')
  const forwarder = new Forwarder({ listener: 'outbound', routes: new RouteTable<RouteTarget>([]), limits: config.limits, requestIds: new RequestIds('t'), clock: systemClock })
  const listener = new Listener({ config: config.listeners[0]!, limits: config.limits, forwarder, logger: pino({ level: 'silent' }) })
  await listener.start()
  t.teardown(() => listener.stop())
  const answer = await raw(listener.address().port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  t.match(answer, /^HTTP\/1\.1 501 /)
  t.match(bodyOf(answer), { code: 'COMMY_ERR_UPGRADE_UNSUPPORTED' })
})

t.test('a bug in a pipeline layer is 500 COMMY_ERR_INTERNAL to the client and an error log line with its stack', async (t) => {
  const up = await startUpstream('a')
  const throwing: Layer = (next) => (attempt) => {
    if (attempt.request.path === '/sync') throw new TypeError('layer bug (sync)')
    if (attempt.request.path === '/async') return Promise.reject(new TypeError('layer bug (async)'))
    return next(attempt)
  }
  const sc = await startSidecar(oneListener([{ match: {}, service: 'a' }], { a: { endpoints: [{ address: up.address }] } }), { layers: [throwing] })
  t.teardown(async () => {
    await sc.stop()
    await up.close()
  })
  for (const path of ['/sync', '/async']) {
    const r = await request(sc.port, { path })
    t.equal(r.status, 500, `${path}: 500`)
    const body = json(r)
    t.match(body, { code: 'COMMY_ERR_INTERNAL', service: 'a' }, `${path}: COMMY_ERR_INTERNAL, never an upstream code`)
    t.notMatch(String(body.error), /layer bug/, 'the bug is not described to the client')
    const requestId = r.headers['x-request-id']
    t.ok(await waitFor(() => sc.lines.some((l) => l.requestId === requestId)), `${path}: logged`)
    const line = sc.lines.find((l) => l.requestId === requestId) as { level: number; err: { type: string; stack: string } }
    t.equal(line.level, 50, 'at error level')
    t.equal(line.err.type, 'InternalError')
    t.match(line.err.stack, `TypeError: layer bug (${path.slice(1)})`, 'the stack of the original error')
    t.match(line.err.stack, /error-codes\.test\.ts/, 'pointing at the throwing code')
    t.ok(await waitFor(() => sc.access.some((l) => l.requestId === requestId)))
    t.match(sc.access.find((l) => l.requestId === requestId), { status: 500, code: 'COMMY_ERR_INTERNAL' }, 'access log')
  }
  t.equal((await request(sc.port, { path: '/ok' })).status, 200, 'the sidecar keeps serving')
})

t.test('an error without a code at the transport is internal, not an upstream failure', async (t) => {
  const bug = new TypeError('cannot read properties of undefined')
  const e = fromUndiciError(bug, { endpoint: '127.0.0.1:1', connected: true, responseStarted: false, headersReceived: false, bodyBytesSent: 0, timeoutMs: 100 })
  t.type(e, InternalError)
  t.equal(e.code, 'COMMY_ERR_INTERNAL')
  t.equal(e.status, 500)
  t.equal(e.cause, bug)
})

t.test('error bodies name the service once', async (t) => {
  const body = (e: Parameters<typeof errorBody>[0], service?: string) => JSON.parse(errorBody(e, 'r1', service)) as Record<string, unknown>
  t.same(body(new UpstreamConnectError('127.0.0.1:1'), 'a'), { error: 'service "a": could not connect to 127.0.0.1:1', code: 'COMMY_ERR_UPSTREAM_CONNECT', requestId: 'r1', service: 'a' })
  t.equal(body(new OverloadedError('a', 'queue full'), 'a').error, 'service "a" is over its concurrency limit: queue full')
  t.equal(body(new NoHealthyEndpointError('a'), 'a').error, 'service "a" has no healthy endpoint')
  t.equal(body(new NoHealthyEndpointError('b'), 'a').error, 'service "a": service "b" has no healthy endpoint', 'another service is named')
  t.same(body(new InternalError()), { error: 'internal error', code: 'COMMY_ERR_INTERNAL', requestId: 'r1' })
})
