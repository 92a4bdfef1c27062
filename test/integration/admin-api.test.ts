/**
 * Every admin endpoint against a running commy (Runtime: sidecar + plugins + admin server), with
 * a known load sent through the proxy first: probes, /metrics (parsed; counters equal to what the
 * upstreams saw), the JSON API, secrets redacted, token and Host checks, reload (good and bad
 * file), drain.
 */
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { parseProm, total } from '../helpers/prom-parse.js'
import { adminCall, createRuntime } from '../helpers/admin-runtime.js'
import type { RedactedConfig } from '../helpers/admin-body.js'
import { request, startUpstream, type Handler, type Upstream } from '../helpers/upstream.js'
import { waitFor } from '../helpers/sidecar.js'

const TOKEN = 'admin-test-token-0123456789abcdef'
const HOOK_SECRET = 'hook-secret-value-42'

const named: Handler = (req, res, up) => {
  req.resume()
  req.on('end', () => {
    if (req.url === '/health') return void res.writeHead(200).end('ok')
    if (up.name === 'flaky' || req.url?.includes('fail')) return void res.writeHead(up.name === 'flaky' ? 503 : 500).end('no')
    res.writeHead(200, { 'x-upstream': up.name }).end(up.name)
  })
}

function yaml(p: Record<string, Upstream>, extra = ''): string {
  return `
node: { name: node-a, zone: zone-1 }
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
log: { level: warn, accessLog: false }
limits: { drainGrace: 200ms, drainTimeout: 5s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - { name: pay, match: { pathPrefix: /pay }, service: payments }
      - { name: find, match: { pathPrefix: /find }, service: search }
      - { name: retry, match: { pathPrefix: /retry }, service: flaky, retries: { attempts: 2, on: ["503"] } }
services:
  payments:
    strategy: round-robin
    endpoints: [{ address: "${p.a1!.address}", zone: zone-1, tags: [v1] }, { address: "${p.a2!.address}", zone: zone-2 }]
  search:
    endpoints: [{ address: "${p.s1!.address}" }]
    healthCheck: { http: { path: /health, headers: { authorization: "Bearer check-secret" } }, interval: 100ms, timeout: 1s }
    outlierDetection: { enabled: false }
  flaky:
    strategy: round-robin
    endpoints: [{ address: "${p.f1!.address}" }, { address: "${p.f2!.address}" }]
    breaker: { enabled: false }
    outlierDetection: { enabled: false }
alerts:
  webhooks: [{ url: "http://127.0.0.1:9/hooks/${HOOK_SECRET}", headers: { authorization: "Bearer ${HOOK_SECRET}" } }]
${extra}`
}

t.test('admin API of a running commy', async (t) => {
  const ups: Record<string, Upstream> = {}
  for (const name of ['a1', 'a2', 's1', 'f1', 'f2']) ups[name] = await startUpstream(name === 'f1' ? 'flaky' : name, named)
  t.teardown(() => Promise.all(Object.values(ups).map((u) => u.close())))
  const rt = createRuntime(yaml(ups))
  t.teardown(() => rt.stop())

  // the admin server starts first: /readyz is 503 until the rest has started
  await rt.runtime.admin.start()
  const admin = rt.admin()
  t.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal((await adminCall(admin, '/healthz')).status, 200, '/healthz while starting')
  const early = await adminCall(admin, '/readyz')
  t.equal(early.status, 503, '/readyz 503 before ready')
  t.match(early.body, { ready: false, reason: 'starting', code: 'COMMY_ERR_NOT_READY' })
  await rt.runtime.start()
  t.same((await adminCall(admin, '/readyz')).body, { ready: true })
  t.same((await adminCall(admin, '/healthz')).body, { status: 'ok' })
  const port = rt.port()

  // ---- a known load through the proxy
  for (let i = 0; i < 40; i++) t.equal((await request(port, { path: `/pay/${i}` })).status, 200)
  for (let i = 0; i < 10; i++) await request(port, { path: i < 5 ? '/find/fail' : '/find/ok' })
  for (let i = 0; i < 3; i++) t.equal((await request(port, { path: '/nowhere' })).status, 404)
  for (let i = 0; i < 10; i++) t.equal((await request(port, { path: '/retry/x' })).status, 200, 'a 503 is retried on the other endpoint')
  const seen = (u: Upstream) => u.seen.filter((r) => r.url !== '/health').length
  t.equal(seen(ups.a1!) + seen(ups.a2!), 40)
  const retries = seen(ups.f1!) + seen(ups.f2!) - 10
  t.ok(retries > 0, `some requests were retried (${retries})`)

  // ---- /metrics
  const m = await adminCall(admin, '/metrics')
  t.equal(m.status, 200)
  t.match(m.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const fams = parseProm(m.text)
  t.equal(total(fams, 'commy_requests_total', { route: 'pay', service: 'payments', code_class: '2xx' }), 40)
  t.equal(total(fams, 'commy_requests_total', { route: 'pay', endpoint: ups.a1!.address }), seen(ups.a1!), 'per endpoint = what a1 saw')
  t.equal(total(fams, 'commy_requests_total', { route: 'pay', endpoint: ups.a2!.address }), seen(ups.a2!), 'per endpoint = what a2 saw')
  t.equal(total(fams, 'commy_requests_total', { route: 'find', code_class: '5xx' }), 5)
  t.equal(total(fams, 'commy_requests_total', { route: 'find', code_class: '2xx' }), 5)
  t.equal(total(fams, 'commy_requests_total', { route: 'none', service: 'none', code_class: '4xx' }), 3)
  t.equal(total(fams, 'commy_requests_total', { route: 'retry', code_class: '2xx' }), 10)
  t.equal(total(fams, 'commy_requests_total'), 63)
  t.equal(total(fams, 'commy_request_duration_seconds_count', { route: 'pay' }), 40)
  t.equal(total(fams, 'commy_request_duration_seconds_bucket', { route: 'pay', le: '+Inf' }), 40)
  t.equal(total(fams, 'commy_retries_total', { service: 'flaky' }), retries, 'retries = upstream tries beyond one per request')
  t.equal(total(fams, 'commy_endpoints', { service: 'payments', state: 'healthy' }), 2)
  t.equal(total(fams, 'commy_requests_in_flight'), 0)
  t.equal(total(fams, 'commy_members', { state: 'alive' }), 1)
  t.equal(total(fams, 'commy_info', { node: 'node-a', config_version: rt.runtime.config.version }), 1)
  t.equal(total(fams, 'commy_config_reloads_total'), 0)
  t.ok(fams.has('process_cpu_user_seconds_total') && fams.has('nodejs_eventloop_lag_seconds'), 'Node process metrics')
  t.ok(total(fams, 'commy_health_checks_total', { service: 'search', result: 'pass' }) > 0, 'active checks counted')

  // ---- JSON API
  const node = await adminCall(admin, '/v1/node')
  t.match(node.body, { name: 'node-a', zone: 'zone-1', configVersion: rt.runtime.config.version, draining: false })
  t.match(node.body.version, /^\d+\.\d+\.\d+/)
  const members = (await adminCall(admin, '/v1/members')).body.members
  t.match(members, [{ name: 'node-a', state: 'alive', zone: 'zone-1', self: true }])
  const services = (await adminCall(admin, '/v1/services')).body.services
  t.match(
    [...services].sort((a, b) => a.name.localeCompare(b.name)),
    [
      { name: 'flaky', endpoints: 2 },
      { name: 'payments', strategy: 'round-robin', endpoints: 2, healthy: 2, eligible: 2, panic: false },
      { name: 'search', endpoints: 1, healthy: 1 },
    ],
  )
  const eps = (await adminCall(admin, '/v1/endpoints?service=payments')).body.endpoints
  t.equal(eps.length, 2)
  const a1 = eps.find((e) => e.address === ups.a1!.address)!
  t.match(a1, { id: `payments~${ups.a1!.address}`, service: 'payments', state: 'healthy', reason: 'ok', breaker: 'closed', inFlight: 0, weight: 1, zone: 'zone-1', tags: ['v1'] })
  t.equal(a1.requests, seen(ups.a1!))
  t.type(a1.ewmaLatencyMs, 'number')
  t.equal((await adminCall(admin, '/v1/endpoints')).body.endpoints.length, 5)

  const hist = await adminCall(admin, `/v1/endpoints/${encodeURIComponent(a1.id)}/history`)
  t.equal(hist.status, 200)
  t.match(hist.body, { id: a1.id, bucketMs: 10_000 })
  const histRequests = hist.body.buckets.reduce((n, b) => n + b.requests, 0)
  t.equal(histRequests, seen(ups.a1!), 'the history counted every request to a1')
  const searchHist = await adminCall(admin, `/v1/endpoints/${encodeURIComponent(`search~${ups.s1!.address}`)}/history?since=1h`)
  t.ok(searchHist.body.buckets.reduce((n, b) => n + b.checksOk, 0) > 0, 'check results in the history')
  const unknown = await adminCall(admin, `/v1/endpoints/${encodeURIComponent('payments~10.9.9.9:1')}/history`)
  t.equal(unknown.status, 404)
  t.equal(unknown.body.code, 'COMMY_ERR_ADMIN_NOT_FOUND')
  t.same((await adminCall(admin, '/v1/alerts')).body, { alerts: [] })

  const cfg = await adminCall(admin, '/v1/config')
  const redacted = cfg.body as unknown as RedactedConfig
  t.equal(cfg.status, 200)
  t.equal(redacted.admin.token, '[redacted]')
  t.equal(redacted.alerts.webhooks[0]!.headers.authorization, '[redacted]')
  t.equal(redacted.services.search!.healthCheck.headers.authorization, '[redacted]')
  t.notOk(cfg.text.includes(TOKEN) || cfg.text.includes(HOOK_SECRET) || cfg.text.includes('check-secret'), 'no secret in /v1/config')
  t.equal(redacted.node.name, 'node-a')

  const state = await adminCall(admin, '/v1/state')
  t.equal(state.body.endpoints.length, 5)
  const page = await adminCall(admin, '/')
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /text\/html/)

  // ---- security
  const adminPort = Number(new URL(admin).port)
  const rebound = await request(adminPort, { path: '/v1/config', headers: { host: 'evil.example' } })
  t.equal(rebound.status, 403, 'DNS rebinding refused (Host: evil.example)')
  t.notOk(rebound.body.includes('node-a'), 'nothing of the config in the refusal')
  const noToken = await adminCall(admin, '/v1/reload', { method: 'POST' })
  t.equal(noToken.status, 401)
  t.equal(noToken.body.code, 'COMMY_ERR_ADMIN_UNAUTHORIZED')
  t.equal((await adminCall(admin, '/v1/drain', { method: 'POST', token: 'wrong-token-0123456789' })).status, 401)
  t.equal((await adminCall(admin, '/v1/reload', { method: 'POST', token: TOKEN, headers: { origin: 'http://evil.example' } })).status, 403, 'cross-site POST refused')
  t.throws(
    () => parseConfig(yaml(ups).replace(`admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }`, 'admin: { listen: "0.0.0.0:0" }'), 'test.yaml'),
    ConfigError,
    'a non-loopback admin bind without a token is refused',
  )

  // ---- reload: a good file, then a bad one (refused with file:line, old config serving)
  const before = rt.runtime.config.version
  rt.write(yaml(ups, '# reloaded'))
  const good = await adminCall(admin, '/v1/reload', { method: 'POST', token: TOKEN })
  t.equal(good.status, 200)
  t.equal(good.body.ok, true)
  t.not(good.body.version, before)
  t.equal(rt.runtime.config.version, good.body.version)
  rt.write(yaml(ups).replace('strategy: round-robin', 'strategy: no-such-strategy'))
  const bad = await adminCall(admin, '/v1/reload', { method: 'POST', token: TOKEN })
  t.equal(bad.status, 422)
  t.match(bad.body, { ok: false, code: 'COMMY_ERR_ADMIN_RELOAD_REFUSED' })
  t.match(bad.body.message, /sidecar\.yaml:\d+/, 'file:line in the refusal')
  t.equal(rt.runtime.config.version, good.body.version, 'the last good config keeps serving')
  t.equal((await request(port, { path: '/pay/after' })).status, 200)
  const after = parseProm((await adminCall(admin, '/metrics')).text)
  t.equal(total(after, 'commy_config_reloads_total', { result: 'success' }), 1)
  t.equal(total(after, 'commy_config_reloads_total', { result: 'failure' }), 1)
  t.equal(total(after, 'commy_info', { config_version: good.body.version }), 1)

  // ---- drain
  const drain = await adminCall(admin, '/v1/drain', { method: 'POST', token: TOKEN })
  t.equal(drain.status, 202)
  t.same(drain.body, { draining: true })
  const notReady = await adminCall(admin, '/readyz')
  t.equal(notReady.status, 503)
  t.equal(notReady.body.reason, 'draining')
  t.equal((await adminCall(admin, '/v1/node')).body.draining, true)
  const during = await request(port, { path: '/pay/during-grace' })
  t.equal(during.status, 200, 'served during the drain grace')
  t.equal(during.headers.connection, 'close', 'with Connection: close')
  const waited = await adminCall(admin, '/v1/drain?wait=1', { method: 'POST', token: TOKEN })
  t.same(waited.body, { draining: true, drained: true })
  await t.rejects(request(port, { path: '/pay/late', timeoutMs: 2000 }), 'listener closed after the drain')
  t.equal((await adminCall(admin, '/healthz')).status, 200, 'the admin server stays up until stop')
  t.equal((await adminCall(admin, '/v1/members')).body.members[0]!.state, 'left')

  await rt.stop()
  await t.rejects(adminCall(admin, '/healthz'), 'admin server closed by stop')
  t.equal(rt.runtime.admin.address(), undefined)
})

t.test('admin.watchConfig: a saved file reloads once; unchanged text does not', async (t) => {
  const up = await startUpstream('w', named)
  t.teardown(() => up.close())
  const text = (version: string) => `
node: { name: watcher-${version} }
admin: { listen: "127.0.0.1:0", watchConfig: true }
log: { level: warn, accessLog: false }
listeners: [{ name: outbound, listen: "127.0.0.1:0", routes: [{ match: {}, service: s }] }]
services: { s: { endpoints: [{ address: "${up.address}" }] } }
`
  const rt = createRuntime(text('one'))
  t.teardown(() => rt.stop())
  await rt.runtime.start()
  const admin = rt.admin()
  t.ok(rt.runtime.admin.watcher()?.watching, 'watching the file')
  rt.write(text('two'))
  t.ok(await waitFor(() => rt.runtime.config.node.name === 'watcher-two', 5000), 'the change was applied')
  const watcher = rt.runtime.admin.watcher()!
  await watcher.settled()
  const judged = watcher.judged
  rt.write(text('two')) // same text: no reload
  t.ok(await waitFor(() => watcher.judged > judged, 5000), 'the same-text save is judged (and not reloaded: counted below)')
  rt.write('listeners: [') // broken: refused, still serving
  t.ok(
    await waitFor(() => rt.lines.some((l) => l.msg === 'config reload refused'), 5000),
    'a broken save is refused',
  )
  const fams = parseProm((await adminCall(admin, '/metrics')).text)
  t.equal(total(fams, 'commy_config_reloads_total', { result: 'success' }), 1)
  t.equal(total(fams, 'commy_config_reloads_total', { result: 'failure' }), 1)
  t.equal(rt.runtime.config.node.name, 'watcher-two')
  rt.write(text('three').replace('watchConfig: true', 'watchConfig: false'))
  t.ok(await waitFor(() => rt.runtime.config.node.name === 'watcher-three', 5000))
  t.equal(rt.runtime.admin.watcher(), undefined, 'watching stops when the reloaded config turns it off')
})
