/**
 * gRPC semantics as pure rules: which requests are gRPC calls, `grpc-timeout`, `grpc-status` and
 * `grpc-message` on the wire (proxy/grpc.ts); the error table's gRPC statuses
 * (proxy/grpc-errors.ts); how the failure classifier and the retry rules judge a trailers-only
 * status; the body head read for streams (proxy/grpc-body.ts).
 */
import { PassThrough } from 'node:stream'
import t from 'tap'
import type { RetryPolicyConfig, RouteMatchConfig } from '../../src/config/types.js'
import { BreakerOpenError, ERRORS, NoHealthyEndpointError, NoRouteError, OverloadedError, UpstreamConnectError, UpstreamGrpcStatusError, UpstreamTimeoutError, type ErrorCode, ForbiddenError } from '../../src/errors.js'
import { classify } from '../../src/pipeline/failure-classifier.js'
import { GrpcStatus } from '../../src/pipeline/grpc-status.js'
import { decideRetry, type RetryContext } from '../../src/pipeline/retry-rules.js'
import { grpcStatusOf, parseGrpcTimeout, percentEncodeGrpcMessage } from '../../src/proxy/grpc.js'
import { grpcRouteIssue, isGrpcContentType } from '../../src/config/grpc-routes.js'
import { GRPC_ERROR_STATUS, grpcErrorMessage, grpcStatusFor } from '../../src/proxy/grpc-errors.js'
import { readGrpcHead, wholeMessages } from '../../src/proxy/grpc-body.js'
import { upstreamRequestHeaders } from '../../src/proxy/headers.js'
import { RouteTable } from '../../src/proxy/routes.js'
import { accessLine } from '../../src/proxy/access-log.js'
import { requestRecord, type FinishedRequest } from '../../src/proxy/request-record.js'
import { Metrics } from '../../src/admin/metrics.js'
import { requestMetrics } from '../../src/admin/request-observer.js'
import { parseProm, total } from '../helpers/prom-parse.js'

t.test('gRPC calls are told by content-type (gRPC-Web is not one)', async (t) => {
  for (const v of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'Application/GRPC', 'application/grpc; charset=utf-8']) t.ok(isGrpcContentType(v), v)
  for (const v of ['application/grpc-web', 'application/grpc-web+proto', 'application/json', 'application/grp', 'text/plain', 'application/grpcx']) t.notOk(isGrpcContentType(v), v)
  const h = upstreamRequestHeaders(['Content-Type', 'application/grpc', 'te', 'trailers'], '127.0.0.1', 'http', () => 'id')
  t.equal(h.grpc, true)
  t.equal(upstreamRequestHeaders(['content-type', 'application/json'], '127.0.0.1', 'http', () => 'id').grpc, false)
})

t.test('grpc-timeout: integer of at most 8 digits and a unit, in ms rounded up', async (t) => {
  const cases: [string | undefined, number | undefined][] = [
    ['200m', 200],
    ['1S', 1000],
    ['5H', 18_000_000],
    ['2M', 120_000],
    ['1500u', 2],
    ['1n', 1],
    ['0m', 0],
    ['99999999S', 99_999_999_000],
    ['123456789S', undefined],
    ['m', undefined],
    ['10x', undefined],
    ['-1S', undefined],
    ['1.5S', undefined],
    ['', undefined],
    [undefined, undefined],
  ]
  for (const [v, ms] of cases) t.equal(parseGrpcTimeout(v), ms, String(v))
})

t.test('grpc-status of a raw header list', async (t) => {
  t.equal(grpcStatusOf([':status', '200', 'content-type', 'application/grpc', 'grpc-status', '14']), 14)
  t.equal(grpcStatusOf(['Grpc-Status', '0']), 0)
  t.equal(grpcStatusOf(['content-type', 'application/grpc']), undefined)
  t.equal(grpcStatusOf(['grpc-status', 'x']), undefined)
})

t.test('grpc-message is percent-encoded (UTF-8; outside 0x20-0x7E and % itself)', async (t) => {
  t.equal(percentEncodeGrpcMessage('plain text: ok'), 'plain text: ok')
  t.equal(percentEncodeGrpcMessage('50% off'), '50%25 off')
  t.equal(percentEncodeGrpcMessage('line\nbreak'), 'line%0Abreak')
  t.equal(percentEncodeGrpcMessage('café'), 'caf%C3%A9')
  const m = grpcErrorMessage(new NoHealthyEndpointError('ledger'), 'req-1', 'ledger')
  t.equal(m, 'COMMY_ERR_NO_HEALTHY_ENDPOINT: service "ledger" has no healthy endpoint (request id req-1)')
})

t.test('errors commy answers gRPC calls with', async (t) => {
  t.equal(grpcStatusFor(new NoHealthyEndpointError('s')), GrpcStatus.UNAVAILABLE, 'no endpoint: 14, not 13')
  t.equal(grpcStatusFor(new UpstreamConnectError('e')), GrpcStatus.UNAVAILABLE)
  t.equal(grpcStatusFor(new BreakerOpenError('e')), GrpcStatus.UNAVAILABLE)
  t.equal(grpcStatusFor(new UpstreamTimeoutError('e', 200)), GrpcStatus.DEADLINE_EXCEEDED)
  t.equal(grpcStatusFor(new OverloadedError('s', 'full')), GrpcStatus.RESOURCE_EXHAUSTED)
  t.equal(grpcStatusFor(new ForbiddenError('s', 'caller')), GrpcStatus.PERMISSION_DENIED)
  t.equal(grpcStatusFor(new NoRouteError()), GrpcStatus.UNIMPLEMENTED)
  // every data-plane code (the table's first section: up to the admin codes) has a gRPC status
  const codes = Object.keys(ERRORS) as ErrorCode[]
  const dataPlane = codes.slice(0, codes.indexOf('COMMY_ERR_ADMIN_NOT_FOUND'))
  for (const c of dataPlane) t.ok(GRPC_ERROR_STATUS[c] !== undefined, `${c} maps to a gRPC status`)
})

t.test('the failure classifier on trailers-only statuses', async (t) => {
  const v = (s: number) => classify(new UpstreamGrpcStatusError('e', s, undefined)).verdict
  for (const s of [2, 4, 13, 14, 15]) t.equal(v(s), 'failure', `status ${s}`)
  for (const s of [1, 8, 12]) t.equal(v(s), 'neutral', `status ${s}`)
  for (const s of [3, 5, 6, 7, 9, 10, 11, 16]) t.equal(v(s), 'success', `status ${s}`)
})

t.test('retries.on gRPC conditions: any method, attempts and body rules as for every retry', async (t) => {
  const policy: RetryPolicyConfig = { attempts: 3, perTryTimeoutMs: 0, on: ['unavailable', 'resource-exhausted'], methods: ['GET'], backoffBaseMs: 1, backoffMaxMs: 1, maxBufferedBody: 65536 }
  const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({ policy, method: 'POST', service: 's', tries: 1, body: 'buffered', ...over })
  const err = (s: number) => new UpstreamGrpcStatusError('e', s, undefined)
  t.equal(decideRetry(ctx(), err(14)).retry, true, 'UNAVAILABLE retried for POST')
  t.equal(decideRetry(ctx(), err(8)).retry, true, 'RESOURCE_EXHAUSTED retried')
  t.equal(decideRetry(ctx(), err(4)).retry, false, 'DEADLINE_EXCEEDED not listed')
  t.equal(decideRetry(ctx(), err(5)).retry, false, 'NOT_FOUND never')
  t.equal(decideRetry(ctx({ tries: 3 }), err(14)).retry, false, 'attempts')
  t.equal(decideRetry(ctx({ body: 'streamed' }), err(14)).retry, false, 'a streamed body (a message was sent) is never replayed')
  const all: RetryPolicyConfig = { ...policy, on: ['cancelled', 'deadline-exceeded'] }
  t.equal(decideRetry(ctx({ policy: all }), err(1)).retry, true, 'cancelled')
  t.equal(decideRetry(ctx({ policy: all }), err(4)).retry, true, 'deadline-exceeded')
})

const frame = (n: number): Buffer => {
  const b = Buffer.alloc(5 + n, 1)
  b[0] = 0
  b.writeUInt32BE(n, 1)
  return b
}

t.test('whole gRPC messages', async (t) => {
  t.equal(wholeMessages([frame(3)], 8), true)
  t.equal(wholeMessages([frame(3), frame(0)], 13), true)
  t.equal(wholeMessages([frame(3).subarray(0, 6)], 6), false)
  t.equal(wholeMessages([], 0), false)
})

t.test('a gRPC body head: a unary call is buffered whole, a stream stops waiting after its first whole message', async (t) => {
  const unary = new PassThrough()
  const p1 = readGrpcHead(unary, 65536)
  unary.write(frame(10))
  unary.end()
  const h1 = await p1
  t.equal(h1.ended, true)
  t.equal(h1.data.length, 15)

  const stream = new PassThrough()
  const p2 = readGrpcHead(stream, 65536)
  stream.write(frame(10))
  const h2 = await p2 // resolves without the end: the client waits for an answer
  t.equal(h2.ended, false)
  t.equal(h2.data.length, 15)
  stream.destroy()

  const partial = new PassThrough()
  const p3 = readGrpcHead(partial, 65536)
  partial.write(frame(10).subarray(0, 8))
  await new Promise((r) => setImmediate(r))
  partial.write(frame(10).subarray(8))
  const h3 = await p3
  t.equal(h3.data.length, 15, 'a cut message is waited for')
})

t.test('routes: pathPrefix routes a gRPC service; match.grpc takes gRPC calls to a service or one method', async (t) => {
  const m = (over: Partial<RouteMatchConfig>): RouteMatchConfig => ({ host: undefined, pathPrefix: undefined, headers: [], ...over })
  const table = new RouteTable([
    { match: m({ grpc: { service: 'payments.v1.Ledger', method: 'Post' } }), target: 'post' },
    { match: m({ grpc: { service: 'payments.v1.Ledger', method: undefined } }), target: 'ledger' },
    { match: m({ pathPrefix: '/payments.v1.Refunds/' }), target: 'refunds' },
  ])
  const grpc = ['content-type', 'application/grpc']
  const json = ['content-type', 'application/json']
  const q = (path: string, rawHeaders: string[]) => table.match({ host: undefined, path, rawHeaders })
  t.equal(q('/payments.v1.Ledger/Post', grpc), 'post')
  t.equal(q('/payments.v1.Ledger/PostAll', grpc), 'ledger', 'a method is matched exactly')
  t.equal(q('/payments.v1.Ledger/Get', grpc), 'ledger')
  t.equal(q('/payments.v1.Ledger/Get', json), undefined, 'match.grpc takes gRPC calls only')
  t.equal(q('/payments.v1.LedgerX/Get', grpc), undefined, 'the service is a whole path segment')
  t.equal(q('/payments.v1.Refunds/Issue', grpc), 'refunds')
})

t.test('observability: access log protocol and grpcStatus; commy_grpc_responses_total', async (t) => {
  const rec = (over: Partial<FinishedRequest>) =>
    requestRecord({ listener: 'l', method: 'POST', url: '/a.B/C', route: { name: 'r', service: 'ledger' }, endpoint: '127.0.0.1:1', status: 200, startedAt: 0, endedAt: 1, bytesIn: 0, bytesOut: 0, attempts: 1, requestId: 'id', code: undefined, ...over })
  const line = JSON.parse(accessLine(rec({ httpVersion: '2.0', grpcStatus: 14 }), 1)) as Record<string, unknown>
  t.equal(line.protocol, 'HTTP/2')
  t.equal(line.grpcStatus, 14)
  const plain = JSON.parse(accessLine(rec({ httpVersion: '1.1' }), 1)) as Record<string, unknown>
  t.equal(plain.protocol, 'HTTP/1.1')
  t.notOk('grpcStatus' in plain, 'no grpcStatus for plain HTTP')

  const m = new Metrics({ defaultMetrics: false })
  const observe = requestMetrics(m)
  observe(rec({ grpcStatus: 0 }))
  observe(rec({ grpcStatus: 0 }))
  observe(rec({ grpcStatus: 14 }))
  observe(rec({ grpcStatus: 99 }))
  observe(rec({}))
  const fams = parseProm(await m.text())
  t.equal(total(fams, 'commy_grpc_responses_total', { service: 'ledger', grpc_status: '0' }), 2)
  t.equal(total(fams, 'commy_grpc_responses_total', { service: 'ledger', grpc_status: '14' }), 1)
  t.equal(total(fams, 'commy_grpc_responses_total', { service: 'ledger', grpc_status: 'other' }), 1)
  t.equal(total(fams, 'commy_grpc_responses_total', {}), 4, 'plain HTTP requests are not counted')
})

t.test('commy validate: a gRPC route (match.grpc or a gRPC content-type header) to an http1 service is refused', async (t) => {
  t.match(grpcRouteIssue({ grpc: { service: 'a.B' } }, 'ledger', 'http1'), /protocol: http2/)
  t.match(grpcRouteIssue({ grpc: { service: 'a.B' } }, 'ledger', undefined), /protocol: http2/, 'http1 is the default')
  t.equal(grpcRouteIssue({ grpc: { service: 'a.B' } }, 'ledger', 'http2'), undefined)
  t.match(grpcRouteIssue({ headers: { 'content-type': 'application/grpc' } }, 'ledger', 'http1'), /protocol: http2/)
  t.equal(grpcRouteIssue({ headers: { 'content-type': 'application/json' } }, 'ledger', 'http1'), undefined)
})
