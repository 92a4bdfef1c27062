import t from 'tap'
import net from 'node:net'
import { Agent } from 'undici'
import { systemClock } from '../../src/clock.js'
import type { HealthCheckConfig } from '../../src/config/types.js'
import { createHealthCheck } from '../../src/health/check-factory.js'
import { runCheck, type HealthCheck } from '../../src/health/check.js'
import { HttpCheck } from '../../src/health/http-check.js'
import { TcpCheck } from '../../src/health/tcp-check.js'
import { INITIAL_COUNTS, nextHealth, type HealthCounts } from '../../src/health/health-state.js'
import { closedPort, startUpstream } from '../helpers/upstream.js'

const cfg = (over: Partial<HealthCheckConfig> = {}): HealthCheckConfig => ({
  kind: 'http',
  path: '/health',
  method: 'GET',
  expectStatus: [200, 299],
  expectBody: undefined,
  headers: {},
  intervalMs: 1_000,
  timeoutMs: 1_000,
  jitter: 0,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  remote: false,
  ...over,
})

const target = (port: number) => ({ host: '127.0.0.1', port })

t.test('HTTP check: method, path, headers, status range and body substring', async (t) => {
  let status = 200
  let body = 'all good: ok'
  const up = await startUpstream('h', (_req, res) => void res.writeHead(status).end(body))
  const agent = new Agent()
  t.teardown(async () => {
    await agent.close()
    await up.close()
  })
  const run = (c: HealthCheck) => runCheck(c, target(up.port), 1_000, systemClock)
  const plain = new HttpCheck(cfg({ method: 'HEAD', path: '/ready', headers: { 'x-probe': 'commy' } }), agent)
  t.same(await run(plain), { ok: true, reason: 'HTTP 200 from /ready' })
  t.same([up.seen[0]!.method, up.seen[0]!.url, up.seen[0]!.headers['x-probe'], up.seen[0]!.headers['user-agent']], ['HEAD', '/ready', 'commy', 'commy-health-check'])
  status = 503
  t.same(await run(plain), { ok: false, reason: 'HTTP 503 from /ready' })
  status = 302
  t.same(await run(new HttpCheck(cfg({ expectStatus: [200, 399] }), agent)), { ok: true, reason: 'HTTP 302 from /health' })
  status = 200
  const withBody = createHealthCheck(cfg({ expectBody: 'ok' }), { dispatcher: agent })
  t.same(await run(withBody), { ok: true, reason: 'HTTP 200 from /health' })
  body = 'degraded'
  t.same(await run(withBody), { ok: false, reason: 'HTTP 200 from /health: body does not contain "ok"' })
  body = 'x'.repeat(200_000) + 'ok'
  t.equal((await run(withBody)).ok, false, 'looks at the first 64 KiB only')
  body = 'x'.repeat(200_000)
  t.equal((await run(plain)).ok, true, 'a large body is drained or dropped')
})

t.test('HTTP check: refused connection and timeout reasons; the timed-out request is closed', async (t) => {
  const port = await closedPort()
  t.same(await runCheck(new HttpCheck(cfg()), target(port), 1_000, systemClock), { ok: false, reason: 'connect ECONNREFUSED' })
  let closed = 0
  const up = await startUpstream('hang', (req) => void req.socket.once('close', () => closed++))
  t.teardown(() => up.close())
  const agent = new Agent()
  t.teardown(() => agent.close())
  const t0 = performance.now()
  const r = await runCheck(new HttpCheck(cfg(), agent), target(up.port), 60, systemClock)
  t.same(r, { ok: false, reason: 'timeout after 60ms' })
  t.ok(performance.now() - t0 < 1_000)
  const end = Date.now() + 2_000
  while (closed === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5))
  t.equal(closed, 1, 'the connection of the abandoned check was closed')
})

t.test('TCP check: connect, refused, and cancel by the parent signal', async (t) => {
  const server = net.createServer((s) => s.destroy())
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as net.AddressInfo).port
  const tcp = createHealthCheck(cfg({ kind: 'tcp' }))
  t.ok(tcp instanceof TcpCheck)
  t.same(await runCheck(tcp, target(port), 1_000, systemClock), { ok: true, reason: 'connected' })
  t.same(await runCheck(tcp, target(await closedPort()), 1_000, systemClock), { ok: false, reason: 'connect ECONNREFUSED' })
  const parent = new AbortController()
  parent.abort()
  t.same(await runCheck(tcp, target(port), 1_000, systemClock, parent.signal), { ok: false, reason: 'check cancelled' })
})

t.test('runCheck never rejects and fails a check that ignores its deadline', async (t) => {
  const throwing: HealthCheck = { check: () => Promise.reject(Object.assign(new Error('boom'), { code: 'EPIPE' })) }
  t.same(await runCheck(throwing, target(1), 1_000, systemClock), { ok: false, reason: 'request failed: EPIPE' })
  const deaf: HealthCheck = { check: () => new Promise((r) => setTimeout(() => r({ ok: true, reason: 'late' }), 40)) }
  t.same(await runCheck(deaf, target(1), 10, systemClock), { ok: false, reason: 'timeout after 10ms' })
})

t.test('health state machine: thresholds count consecutive results only', async (t) => {
  const th = { healthyThreshold: 2, unhealthyThreshold: 3 }
  const run = (from: HealthCounts, results: boolean[]) => results.reduce((s, ok) => nextHealth(s, ok, th), from)
  t.equal(run(INITIAL_COUNTS, [true]).health, 'healthy', 'unknown -> healthy on the first pass')
  t.equal(run(INITIAL_COUNTS, [false, false]).health, 'unknown')
  t.equal(run(INITIAL_COUNTS, [false, false, false]).health, 'unhealthy')
  const healthy = run(INITIAL_COUNTS, [true])
  t.equal(run(healthy, [false, false, true, false, false]).health, 'healthy', 'a pass resets the failure count')
  const down = run(healthy, [false, false, false])
  t.equal(down.health, 'unhealthy')
  t.equal(run(down, [true]).health, 'unhealthy')
  t.equal(run(down, [true, false, true]).health, 'unhealthy', 'a failure resets the pass count')
  t.equal(run(down, [true, true]).health, 'healthy')
})
