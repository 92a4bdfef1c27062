/**
 * Issue #4 acceptance, active checks, through a real Runtime (sidecar + health plugin) on real
 * sockets: an endpoint whose /health starts failing is unhealthy after exactly the unhealthy
 * threshold and gets no proxied traffic; it is back after exactly the healthy threshold. The same
 * with a TCP check and a closed port. A service without a check is never probed.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseConfig } from '../../src/config/load.js'
import type { Endpoint } from '../../src/endpoint/endpoint.js'
import type { HealthTransition } from '../../src/health/active-monitor.js'
import { Runtime } from '../../src/runtime.js'
import { captureLogs, waitFor } from '../helpers/sidecar.js'
import { request, startUpstream, type Handler, type Upstream } from '../helpers/upstream.js'

const quiet = { breaker: { enabled: false }, outlierDetection: { enabled: false }, panicThreshold: 0 }

async function startRuntime(t: Test, raw: Record<string, unknown>): Promise<Runtime> {
  const config = parseConfig(JSON.stringify(raw), 'test.yaml')
  const runtime = new Runtime({ config, logs: captureLogs().logs })
  await runtime.start()
  t.teardown(() => runtime.stop())
  return runtime
}

function endpointOf(runtime: Runtime, service: string, address: string): Endpoint {
  const ep = runtime.sidecar.registry.service(service)?.get(address)
  if (!ep) throw new Error(`no endpoint ${address} in ${service}`)
  return ep
}

const proxiedTo = (up: Upstream) => up.seen.filter((r) => r.url !== '/health').length

async function sendMany(port: number, n: number, path = '/x'): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await request(port, { path })).status)
  return out
}

t.test('HTTP check: unhealthy after exactly unhealthyThreshold failures, no traffic, back after exactly healthyThreshold passes', async (t) => {
  let status = 200
  const served = { ok: 0, failed: 0 }
  const handler: Handler = (req, res) => {
    if (req.url !== '/health') return void res.writeHead(200).end('hello')
    const s = status
    if (s === 200) served.ok++
    else served.failed++
    res.writeHead(s).end()
  }
  const a = await startUpstream('a', handler)
  const b = await startUpstream('b', (req, res) => void res.writeHead(200).end(req.url === '/health' ? '' : 'hello'))
  const plain = await startUpstream('plain', (_req, res) => void res.writeHead(200).end('plain'))
  t.teardown(() => Promise.all([a.close(), b.close(), plain.close()]))
  const check = { http: { path: '/health', expectStatus: '200' }, interval: '25ms', timeout: '500ms', jitter: 0, unhealthyThreshold: 3, healthyThreshold: 2 }
  const runtime = await startRuntime(t, {
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/plain' }, service: 'plain' }, { match: { pathPrefix: '/' }, service: 'pay' }] }],
    services: {
      pay: { strategy: 'round-robin', endpoints: [{ address: a.address }, { address: b.address }], healthCheck: check, ...quiet },
      plain: { endpoints: [{ address: plain.address }], ...quiet },
    },
  })
  const port = runtime.sidecar.address().port
  const epA = endpointOf(runtime, 'pay', a.address)
  const transitions: (HealthTransition & { failed: number; ok: number })[] = []
  let base = { ok: 0, failed: 0 }
  runtime.health.monitor.on({
    transition: (tr) => {
      if (tr.endpoint === epA) transitions.push({ ...tr, failed: served.failed - base.failed, ok: served.ok - base.ok })
    },
  })
  t.ok(await waitFor(() => epA.activeHealth === 'healthy', 5000), 'a healthy after its first pass')
  t.same(await sendMany(port, 10), Array(10).fill(200))
  t.ok(proxiedTo(a) > 0 && proxiedTo(b) > 0, 'traffic to both endpoints')

  base = { ...served }
  status = 500
  t.ok(await waitFor(() => epA.activeHealth === 'unhealthy', 5000), 'a unhealthy')
  const down = transitions.at(-1)!
  t.match(down, { from: 'healthy', to: 'unhealthy', reason: 'HTTP 500 from /health' })
  t.equal(down.failed, 3, 'after exactly unhealthyThreshold (3) failed checks')
  t.notOk(runtime.sidecar.registry.service('pay')!.snapshot.eligible.includes(epA), 'not eligible')
  const before = proxiedTo(a)
  t.same(await sendMany(port, 20), Array(20).fill(200), 'every request answered (by b)')
  t.equal(proxiedTo(a), before, 'no proxied request reached a while unhealthy')

  base = { ...served }
  status = 200
  t.ok(await waitFor(() => epA.activeHealth === 'healthy', 5000), 'a healthy again')
  const up = transitions.at(-1)!
  t.match(up, { from: 'unhealthy', to: 'healthy', reason: 'HTTP 200 from /health' })
  t.equal(up.ok, 2, 'after exactly healthyThreshold (2) passing checks')
  await sendMany(port, 10)
  t.ok(proxiedTo(a) > before, 'a receives traffic again')

  // the history shows the episode with its reasons and the check results
  const h = runtime.health.history.endpointHistory(epA.id)!
  t.match(h.transitions, [
    { from: 'healthy', to: 'unhealthy', reason: 'HTTP 500 from /health' },
    { from: 'unhealthy', to: 'healthy', reason: 'ok' },
  ])
  t.ok(h.buckets.reduce((n, x) => n + x.checksFailed, 0) >= 3, 'failed checks in the history')
  t.equal(h.buckets.reduce((n, x) => n + x.requests, 0), proxiedTo(a), 'every proxied request to a in its history')

  // a service without healthCheck is never probed and stays eligible
  t.same(await sendMany(port, 3, '/plain'), [200, 200, 200])
  const epPlain = endpointOf(runtime, 'plain', plain.address)
  t.equal(epPlain.activeHealth, 'unknown')
  t.ok(epPlain.eligibility(0).eligible)
  t.equal(plain.seen.filter((r) => r.url === '/health').length, 0, 'no health check sent to an unchecked service')
  t.same(plain.seen.map((r) => r.url), ['/plain', '/plain', '/plain'])
})

t.test('TCP check: a closed port is unhealthy after exactly the threshold; reopened, healthy after exactly the healthy threshold', async (t) => {
  const a = await startUpstream('a', (_req, res) => void res.writeHead(200).end('a'))
  const b = await startUpstream('b', (_req, res) => void res.writeHead(200).end('b'))
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const runtime = await startRuntime(t, {
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'pay' }] }],
    services: {
      pay: {
        strategy: 'round-robin',
        endpoints: [{ address: a.address }, { address: b.address }],
        healthCheck: { tcp: {}, interval: '25ms', timeout: '500ms', jitter: 0, unhealthyThreshold: 3, healthyThreshold: 2 },
        ...quiet,
      },
    },
  })
  const port = runtime.sidecar.address().port
  const epA = endpointOf(runtime, 'pay', a.address)
  const results = { ok: 0, failed: 0 }
  const at: { to: string; reason: string; ok: number; failed: number }[] = []
  runtime.health.on({
    checked: (c) => {
      if (c.endpoint === epA) results[c.ok ? 'ok' : 'failed']++
    },
  })
  runtime.health.monitor.on({ transition: (tr) => void (tr.endpoint === epA && at.push({ to: tr.to, reason: tr.reason, ...results })) })
  t.ok(await waitFor(() => epA.activeHealth === 'healthy', 5000), 'a healthy')

  await a.close()
  const failedBefore = results.failed
  t.ok(await waitFor(() => epA.activeHealth === 'unhealthy', 5000), 'a unhealthy once its port is closed')
  const down = at.at(-1)!
  t.match(down, { to: 'unhealthy', reason: 'connect ECONNREFUSED' })
  t.equal(down.failed - failedBefore, 3, 'after exactly 3 refused connects')
  t.same(await sendMany(port, 10), Array(10).fill(200), 'served by b')
  const hA = runtime.health.history.endpointHistory(epA.id)!
  t.equal(hA.buckets.reduce((n, x) => n + x.requests + x.errors, 0), 0, 'no request was even tried on a')

  // reopen the same port
  let accepted = 0
  const again = http.createServer((_req, res) => void res.writeHead(200).end('a again'))
  again.on('connection', () => accepted++)
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject)
    again.listen(a.port, '127.0.0.1', () => resolve())
  })
  t.teardown(() => new Promise<void>((r) => (again.close(() => r()), again.closeAllConnections())))
  t.equal((again.address() as AddressInfo).port, a.port)
  const okBefore = results.ok
  t.ok(await waitFor(() => epA.activeHealth === 'healthy', 5000), 'healthy again')
  t.match(at.at(-1), { to: 'healthy' })
  t.equal(at.at(-1)!.ok - okBefore, 2, 'after exactly 2 successful connects')
  t.ok(accepted >= 2, 'the reopened server saw the connects')
  await waitFor(() => runtime.health.history.endpointHistory(epA.id)!.transitions.length >= 2, 5000)
  t.match(runtime.health.history.endpointHistory(epA.id)!.transitions, [{ from: 'healthy', to: 'unhealthy', reason: 'connect ECONNREFUSED' }, { from: 'unhealthy', to: 'healthy' }])
})

t.test('reload: a check added to a running service starts probing it; removed, the endpoint is unknown (eligible) again', async (t) => {
  let healthStatus = 500
  const app = await startUpstream('app', (req, res) => void res.writeHead(req.url === '/health' ? healthStatus : 200).end())
  t.teardown(() => app.close())
  const raw = (healthCheck?: unknown) => ({
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'svc' }] }],
    services: { svc: { endpoints: [{ address: app.address }], ...quiet, ...(healthCheck ? { healthCheck } : {}) } },
  })
  const runtime = await startRuntime(t, raw())
  const ep = endpointOf(runtime, 'svc', app.address)
  await sleep(60)
  t.equal(app.seen.length, 0, 'no check configured: no probe')
  await runtime.apply(parseConfig(JSON.stringify(raw({ http: { path: '/health' }, interval: '20ms', jitter: 0, unhealthyThreshold: 2, healthyThreshold: 1 })), 'test.yaml'))
  t.ok(await waitFor(() => ep.activeHealth === 'unhealthy', 5000), 'probed after the reload, unhealthy')
  t.equal(ep.activeReason, 'HTTP 500 from /health')
  await runtime.apply(parseConfig(JSON.stringify(raw()), 'test.yaml'))
  t.ok(await waitFor(() => ep.activeHealth === 'unknown', 5000), 'check removed: unknown')
  t.ok(ep.eligibility(0).eligible)
  const n = app.seen.length
  await sleep(60)
  t.equal(app.seen.length, n, 'no more probes')
  healthStatus = 200
})
