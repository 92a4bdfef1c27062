/**
 * Issue 12 acceptance, gRPC semantics end to end with grpc-js on both sides: a server answering
 * UNAVAILABLE to every call is retried around (`retries.on: [unavailable]`: the client sees no
 * failure) and its breaker opens (the trailers-only status is a failure for the one classifier);
 * with no endpoint left the client gets UNAVAILABLE (14, not INTERNAL 13) carrying the code and
 * request id; `grpc-timeout: 200m` against a server that never answers is DEADLINE_EXCEEDED
 * within 300 ms; NOT_FOUND is the endpoint's answer, passed on and not a failure.
 */
import http2 from 'node:http2'
import t from 'tap'
import { echoClient, grpc, inFlight, startGrpcServer, unary } from '../helpers/grpc.js'
import { startRuntime, until } from '../helpers/runtime.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }

t.test('UNAVAILABLE server: retries hide it, its breaker opens; no endpoint left: status 14 with code and request id', async (t) => {
  const good = [await startGrpcServer('a'), await startGrpcServer('b')]
  const bad = await startGrpcServer('bad', { kind: 'fail', code: grpc.status.UNAVAILABLE })
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: [
      {
        name: 'outbound',
        listen: '127.0.0.1:0',
        routes: [{ match: { pathPrefix: '/test.v1.Echo/' }, service: 'echo', retries: { attempts: 3, on: ['unavailable'], backoff: { base: '1ms', max: '2ms' } } }],
      },
    ],
    services: {
      echo: {
        protocol: 'http2',
        strategy: 'round-robin',
        endpoints: [...good, bad].map((s) => ({ address: s.address })),
        breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, rollingCountTimeout: '10s', resetTimeout: '30s' },
        outlierDetection: { enabled: false },
        retryBudget: { ratio: 1, minPerSecond: 100 },
      },
    },
  })
  const client = echoClient(`127.0.0.1:${rt.port}`)
  t.teardown(async () => {
    client.close()
    await rt.stop()
    for (const s of [...good, bad]) await s.stop()
  })
  const opened: string[] = []
  rt.runtime.resilience.on({ breakerTransition: (e) => void (e.to === 'open' && opened.push(e.endpoint)) })

  const results = await inFlight(60, 4, (i) => unary(client, String(i)))
  const failures = results.filter((r) => r.code !== grpc.status.OK)
  t.equal(failures.length, 0, `the client saw no failure (${JSON.stringify(failures.slice(0, 2))})`)
  t.ok(bad.calls >= 1, `the UNAVAILABLE server was tried (${bad.calls} calls)`)
  t.ok(await until(() => opened.includes(bad.address), 3000), 'its breaker opened')
  t.notOk(opened.includes(good[0]!.address) || opened.includes(good[1]!.address), 'the good ones stay closed')
  const retried = rt.access.filter((a) => (a.attempts as number) > 1)
  t.ok(retried.length >= 1, 'retried calls show in the access log')
  t.ok(retried.every((a) => a.grpcStatus === 0 && a.protocol === 'HTTP/2'), 'with the grpc-status the client got and the protocol')

  // no endpoint left: commy's own error is a gRPC error
  for (const s of good) await s.stop()
  bad.behaviour = { kind: 'ok' }
  await bad.stop()
  let last = await unary(client, 'x', { deadline: Date.now() + 5000 })
  for (let i = 0; i < 10 && last.code !== grpc.status.UNAVAILABLE; i++) last = await unary(client, 'x')
  t.equal(last.code, grpc.status.UNAVAILABLE, `status 14, not 13 (${last.details ?? ''})`)
  t.match(last.details, /COMMY_ERR_(UPSTREAM_CONNECT|NO_HEALTHY_ENDPOINT|BREAKER_OPEN).*request id \S+/, 'grpc-message carries the code and the request id')
})

t.test('grpc-timeout 200m against a server that never answers: DEADLINE_EXCEEDED from commy within 300 ms', async (t) => {
  const silent = await startGrpcServer('silent', { kind: 'silent' })
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: { grpc: { service: 'test.v1.Echo' } }, service: 'echo', timeout: '10s' }] }],
    services: { echo: { protocol: 'http2', endpoints: [{ address: silent.address }] } },
  })
  const client = echoClient(`127.0.0.1:${rt.port}`)
  const session = http2.connect(`http://127.0.0.1:${rt.port}`)
  t.teardown(async () => {
    session.close()
    client.close()
    await rt.stop()
    await silent.stop()
  })
  // grpc-js sends grpc-timeout from its deadline (and keeps its own timer as well)
  const r = await unary(client, 'x', { deadline: Date.now() + 200 })
  t.equal(r.code, grpc.status.DEADLINE_EXCEEDED, 'grpc-js: DEADLINE_EXCEEDED')
  t.ok(r.ms < 300, `grpc-js: in ${r.ms.toFixed(0)} ms`)

  // a client with no timer of its own: the status can only come from commy
  const t0 = performance.now()
  const reply = await new Promise<{ headers: http2.IncomingHttpHeaders; ended: boolean }>((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': '/test.v1.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' })
    s.on('response', (headers, flags) => resolve({ headers, ended: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 }))
    s.on('error', reject)
    s.end(Buffer.from([0, 0, 0, 0, 1, 120]))
  })
  const ms = performance.now() - t0
  t.equal(reply.headers['grpc-status'], '4', 'DEADLINE_EXCEEDED')
  t.equal(reply.headers[':status'], 200)
  t.equal(reply.headers['content-type'], 'application/grpc')
  t.ok(reply.ended, 'trailers-only: one HEADERS frame that ends the stream')
  t.match(reply.headers['grpc-message'], /COMMY_ERR_UPSTREAM_TIMEOUT.*200ms.*grpc-timeout.*request id/)
  t.ok(ms >= 190 && ms < 300, `commy answered in ${ms.toFixed(0)} ms`)
  t.ok(await until(() => rt.access.some((a) => a.code === 'COMMY_ERR_UPSTREAM_TIMEOUT' && a.grpcStatus === 4), 2000), 'access log: the code and grpcStatus 4')
})

t.test('NOT_FOUND is the endpoint answering: passed on, not retried, not a failure', async (t) => {
  const nf = await startGrpcServer('nf', { kind: 'fail', code: grpc.status.NOT_FOUND })
  const rt = await startRuntime({
    health: NO_LAG,
    listeners: [{ name: 'outbound', listen: '127.0.0.1:0', routes: [{ match: { grpc: { service: 'test.v1.Echo' } }, service: 'echo', retries: { attempts: 3, on: ['unavailable', 'cancelled'] } }] }],
    services: { echo: { protocol: 'http2', endpoints: [{ address: nf.address }], breaker: { volumeThreshold: 2 } } },
  })
  const client = echoClient(`127.0.0.1:${rt.port}`)
  t.teardown(async () => {
    client.close()
    await rt.stop()
    await nf.stop()
  })
  for (let i = 0; i < 5; i++) {
    const r = await unary(client, 'x')
    t.equal(r.code, grpc.status.NOT_FOUND)
    t.equal(r.details, 'nf fails', "the endpoint's own message")
  }
  t.equal(nf.calls, 5, 'not retried')
  const ep = rt.runtime.sidecar.registry.service('echo')!.get(nf.address)!
  t.equal(ep.failures, 0, 'not a failure of the endpoint')
  t.equal(ep.breaker.kind, 'closed')
})
