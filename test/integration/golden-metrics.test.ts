/**
 * Issue 14, acceptance point 1, through a real Runtime on loopback: an endpoint that fails 9 of
 * 10 tries is hidden from the clients by retries (every request succeeds), yet /metrics shows
 * its failed tries (commy_upstream_tries_total, outcome="5xx") and /v1/endpoints a success rate
 * below 20% for it. Also: the golden series exist at 0 before any traffic, /v1/services and
 * /v1/routes carry the golden signals, connections and bytes are counted, an upgrade is a try.
 */
import t from 'tap'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { startUpstream } from '../helpers/upstream.js'
import { load, startRuntime } from '../helpers/runtime.js'
import { rawClient } from '../helpers/raw-client.js'
import { parseProm, samples, total } from '../helpers/prom-parse.js'
import type { EndpointView, RoutesView, ServiceView } from '../../src/admin/view.js'

const NO_LAG = { eventLoopLagThreshold: '10s' }
const REQUESTS = 60

t.test('a failing endpoint hidden by retries shows in /metrics and /v1/endpoints', async (t) => {
  // the bad endpoint answers 503 to 9 tries of every 10 (tries 1-9 fail, the 10th succeeds, ...)
  let badTries = 0
  const bad = await startUpstream('bad', (req, res) => {
    req.resume()
    const fail = ++badTries % 10 !== 0
    res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain' }).end(fail ? 'unavailable' : 'ok from bad')
  })
  const good = await startUpstream('good', (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok from good')
  })
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: [{ name: 'public', listen: '127.0.0.1:0', routes: [{ name: 'api', match: { pathPrefix: '/' }, service: 'svc', retries: { attempts: 3, on: ['503'], backoff: { base: '1ms', max: '2ms' } } }] }],
    services: {
      svc: {
        strategy: 'round-robin',
        endpoints: [{ address: bad.address }, { address: good.address }],
        // keep the bad endpoint in rotation (no breaker, no ejection) and every retry allowed
        breaker: { enabled: false },
        outlierDetection: { enabled: false },
        retryBudget: { ratio: 1, minPerSecond: 1000 },
      },
    },
  })
  t.teardown(async () => {
    await rt.stop()
    await Promise.all([bad.close(), good.close()])
  })
  const admin = rt.runtime.admin.url()!
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${admin}${path}`)
    t.equal(r.status, 200, `GET ${path}`)
    return (await r.json()) as T
  }
  const metrics = async () => parseProm(await (await fetch(`${admin}/metrics`)).text())

  // ---- before any traffic: the series are there, at 0 ----
  let fams = await metrics()
  for (const ep of [bad.address, good.address]) {
    for (const outcome of ['2xx', '3xx', '4xx', '5xx']) {
      const s = samples(fams, 'commy_upstream_tries_total', { service: 'svc', endpoint: ep, outcome })
      t.equal(s.length === 1 && s[0]!.value, 0, `tries ${ep} ${outcome} = 0 before traffic`)
    }
    t.equal(samples(fams, 'commy_requests_total', { route: 'api', endpoint: ep, code_class: '5xx' })[0]?.value, 0, `requests ${ep} 5xx = 0`)
    t.equal(samples(fams, 'commy_upstream_connections', { service: 'svc', endpoint: ep })[0]?.value, 0, `no connection to ${ep} yet`)
  }
  t.equal(samples(fams, 'commy_requests_total', { route: 'api', endpoint: 'none', code_class: '5xx' })[0]?.value, 0, 'no-endpoint 5xx = 0')
  t.equal(samples(fams, 'commy_request_bytes_total', { listener: 'public', route: 'api', service: 'svc' })[0]?.value, 0)
  t.equal(samples(fams, 'commy_response_bytes_total', { listener: 'public', route: 'api', service: 'svc' })[0]?.value, 0)
  t.equal(samples(fams, 'commy_downstream_connections_opened_total', { listener: 'public' })[0]?.value, 0)
  t.equal(total(fams, 'commy_config_last_reload_success'), 1)
  t.ok(total(fams, 'commy_config_last_reload_success_timestamp_seconds') > 1.7e9, 'the start is the last successful load')
  const idle = await get<{ endpoints: EndpointView[] }>('/v1/endpoints')
  t.ok(idle.endpoints.length === 2 && idle.endpoints.every((e) => e.successRate === null && e.rps === 0), 'no traffic: successRate null, rps 0')

  // ---- traffic: every client request succeeds ----
  const result = await load({ port: rt.port, total: REQUESTS, concurrency: 4 })
  t.equal(result.ok, REQUESTS, `every client request succeeded (${JSON.stringify([...result.statuses])})`)

  fams = await metrics()
  const tries = (endpoint: string, outcome?: string) => total(fams, 'commy_upstream_tries_total', { service: 'svc', endpoint, ...(outcome ? { outcome } : {}) })
  const badAll = tries(bad.address)
  const badFailed = tries(bad.address, '5xx')
  t.equal(badAll, badTries, `every try of the bad endpoint is counted (${badAll})`)
  t.ok(badAll >= 10, `the bad endpoint got tries (${badAll})`)
  t.ok(badFailed >= 0.9 * badAll, `at least 9 failed tries per 10 (${badFailed} of ${badAll})`)
  t.equal(tries(good.address, '5xx'), 0)
  t.equal(tries(good.address, '2xx'), good.seen.length)
  t.equal(total(fams, 'commy_requests_total', { route: 'api', code_class: '2xx' }), REQUESTS, 'the client saw only 2xx')
  t.equal(total(fams, 'commy_requests_total', { route: 'api', code_class: '5xx' }), 0, 'which is all requests_total can show')
  t.ok(total(fams, 'commy_request_duration_seconds_count', { route: 'api', code_class: '2xx' }) === REQUESTS, 'latency by status class')
  t.ok(total(fams, 'commy_response_bytes_total', { route: 'api' }) >= REQUESTS * 'ok from bad'.length, 'response bytes counted')
  t.ok(total(fams, 'commy_downstream_connections_opened_total', { listener: 'public' }) >= 1, 'client connections counted')
  for (const ep of [bad.address, good.address]) {
    const opened = total(fams, 'commy_upstream_connections_opened_total', { endpoint: ep })
    t.ok(opened >= 1, `connections to ${ep} counted (${opened})`)
    t.equal(total(fams, 'commy_upstream_connections', { endpoint: ep }), opened - total(fams, 'commy_upstream_connections_closed_total', { endpoint: ep }))
  }

  // ---- the admin JSON: the endpoint's tries fail, the service's clients do not ----
  const { endpoints } = await get<{ endpoints: EndpointView[] }>('/v1/endpoints')
  const badView = endpoints.find((e) => e.address === bad.address)!
  const goodView = endpoints.find((e) => e.address === good.address)!
  t.ok(badView.successRate !== null && badView.successRate !== undefined && badView.successRate < 0.2, `bad endpoint successRate < 0.2 (${badView.successRate})`)
  t.equal(goodView.successRate, 1)
  for (const e of [badView, goodView]) {
    t.ok(e.rps! > 0, `${e.address} rps ${e.rps}`)
    t.ok(typeof e.p50Ms === 'number' && typeof e.p99Ms === 'number' && e.p50Ms <= e.p99Ms, `${e.address} p50 ${e.p50Ms} <= p99 ${e.p99Ms}`)
  }
  const { services } = await get<{ services: ServiceView[] }>('/v1/services')
  const svc = services.find((s) => s.name === 'svc')!
  t.equal(svc.successRate, 1, 'the clients of the service saw 100%')
  t.ok(svc.trySuccessRate! < 1, `its tries did not (${svc.trySuccessRate})`)
  t.ok(svc.rps! > 0 && svc.p50Ms! > 0 && svc.p99Ms! >= svc.p50Ms!, `rps ${svc.rps}, p50 ${svc.p50Ms}, p99 ${svc.p99Ms}`)

  const routes = await get<RoutesView>('/v1/routes')
  t.equal(routes.listeners.length, 1)
  const l = routes.listeners[0]!
  t.equal(l.name, 'public')
  t.match(l.listen, /^127\.0\.0\.1:\d+$/)
  t.equal(l.routes.length, 1)
  const r = l.routes[0]!
  t.match(r, { name: 'api', service: 'svc', requests: REQUESTS, successRate: 1, match: { host: null, pathPrefix: '/', headers: {} } })
  t.ok(r.rps > 0 && r.p50Ms !== null && r.p99Ms !== null, `route rps ${r.rps}, p50 ${r.p50Ms}, p99 ${r.p99Ms}`)
})

t.test('an upgrade counts as a try of its endpoint; client connections are counted open and closed', async (t) => {
  const ws = await startUpstream('ws')
  ws.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  })
  const rt = await startRuntime({
    health: NO_LAG,
    log: { accessLog: false },
    listeners: [{ name: 'public', listen: '127.0.0.1:0', routes: [{ name: 'ws', match: {}, service: 'ws' }] }],
    services: { ws: { endpoints: [{ address: ws.address }] } },
  })
  t.teardown(async () => {
    await rt.stop()
    await ws.close()
  })
  const admin = rt.runtime.admin.url()!
  const metrics = async () => parseProm(await (await fetch(`${admin}/metrics`)).text())
  const r = await rawClient(rt.port, 'GET /chat HTTP/1.1\r\nHost: ws\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', { giveUpMs: 5000 })
  t.match(r.text, /^HTTP\/1\.1 101/)
  // the record is made when both sockets have closed: poll /metrics (bounded)
  let fams = await metrics()
  const settled = () => total(fams, 'commy_upstream_tries_total', { service: 'ws', endpoint: ws.address, outcome: '1xx' }) === 1 && total(fams, 'commy_downstream_connections', { listener: 'public' }) === 0
  for (let i = 0; i < 50 && !settled(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    fams = await metrics()
  }
  t.ok(settled(), 'the upgrade is one 1xx try; its client connection is closed')
  t.equal(total(fams, 'commy_upstream_tries_total', { service: 'ws', endpoint: ws.address, outcome: '1xx' }), 1)
  t.equal(total(fams, 'commy_downstream_connections_opened_total', { listener: 'public' }), 1)
  t.equal(total(fams, 'commy_downstream_connections_closed_total', { listener: 'public' }), 1)
  t.equal(total(fams, 'commy_requests_total', { route: 'ws', code_class: '1xx' }), 1)
})
