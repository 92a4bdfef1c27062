import t, { type Test } from 'tap'
import { request as httpRequest } from 'node:http'
import { AdminServer, type AdminServerOptions } from '../../src/admin/server.js'
import { Metrics } from '../../src/admin/metrics.js'
import { AdminInsecureBindError, AdminListenError } from '../../src/admin/errors.js'
import type { AdminConfig } from '../../src/config/types.js'
import { FakeSidecar } from '../helpers/admin-fake.js'
import { waitFor } from '../helpers/sidecar.js'
import { parseProm, total } from '../helpers/prom-parse.js'
import type { AdminBody } from '../helpers/admin-body.js'
import type { StateSnapshot } from '../../src/admin/snapshot.js'

const TOKEN = 'test-token-0123456789abcdef'

interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json: AdminBody
}

/** A raw node:http request so Host/Origin can be anything. */
function req(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString()
        let json: unknown
        try {
          json = JSON.parse(body)
        } catch {
          // not JSON: json stays undefined
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, json: json as AdminBody })
      })
    })
    r.setTimeout(5000, () => r.destroy(new Error('timeout')))
    r.on('error', reject)
    r.end(opts.body)
  })
}

function config(over: Partial<AdminConfig> = {}): AdminConfig {
  return { listen: { host: '127.0.0.1', port: 0 }, token: undefined, watchConfig: false, ...over }
}

async function startAdmin(t: Test, over: Partial<AdminServerOptions> = {}, cfg: Partial<AdminConfig> = {}) {
  const fake = new FakeSidecar()
  const metrics = new Metrics({ source: fake, defaultMetrics: false })
  const server = new AdminServer({ config: config(cfg), source: fake, actions: fake, metrics, eventIntervalMs: 50, ...over })
  await server.start()
  t.teardown(() => server.stop())
  return { fake, metrics, server, url: server.url }
}

t.test('binds port 0 on loopback and exposes the bound address', async (t) => {
  const { server } = await startAdmin(t)
  const a = server.address()
  t.equal(a.host, '127.0.0.1')
  t.ok(a.port > 0)
  t.equal(server.url, `http://127.0.0.1:${a.port}`)
})

t.test('probes', async (t) => {
  const { url, fake } = await startAdmin(t)
  let r = await req(`${url}/healthz`)
  t.equal(r.status, 200)
  t.same(r.json, { status: 'ok' })
  r = await req(`${url}/readyz`)
  t.equal(r.status, 200)
  t.same(r.json, { ready: true })
  fake.ready = { ready: false, reason: 'gossip not joined' }
  r = await req(`${url}/readyz`)
  t.equal(r.status, 503)
  t.equal(r.json.code, 'COMMY_ERR_NOT_READY')
  t.equal(r.json.reason, 'gossip not joined')
  t.equal(r.json.ready, false)
  // probes answer whatever the Host (kubelet names the pod IP)
  r = await req(`${url}/healthz`, { headers: { host: '10.1.2.3:15000' } })
  t.equal(r.status, 200)
  r = await req(`${url}/healthz`, { method: 'HEAD' })
  t.equal(r.status, 200)
  t.equal(r.body, '', 'HEAD has no body')
})

t.test('JSON views', async (t) => {
  const { url, fake } = await startAdmin(t)
  let r = await req(`${url}/v1/members`)
  t.equal(r.status, 200)
  t.match(r.headers['content-type'], /^application\/json/)
  t.equal(r.headers['cache-control'], 'no-store')
  t.equal(r.json.members.length, 3)
  t.match(r.json.members[1], { name: 'node-b', address: '127.0.0.2:7946', state: 'alive', incarnation: 1, zone: 'eu-1b', services: ['payments', 'search'], self: false })

  r = await req(`${url}/v1/services`)
  t.equal(r.status, 200)
  t.same(
    r.json.services.map((s) => [s.name, s.strategy, s.endpoints, s.healthy, s.eligible, s.panic]),
    [
      ['payments', 'latency', 3, 3, 3, false],
      ['search', 'round-robin', 2, 2, 2, false],
    ],
  )

  fake.setBreaker('payments~10.0.0.2:8080', 'open')
  r = await req(`${url}/v1/endpoints`)
  t.equal(r.status, 200)
  t.equal(r.json.endpoints.length, 5)
  const ep = r.json.endpoints.find((e) => e.id === 'payments~10.0.0.2:8080')
  t.match(ep, {
    id: 'payments~10.0.0.2:8080',
    service: 'payments',
    address: '10.0.0.2:8080',
    state: 'ejected',
    reason: 'circuit breaker open',
    eligible: false,
    breaker: 'open',
    inFlight: Number,
    ewmaLatencyMs: Number,
    weight: 1,
    zone: 'eu-1b',
    tags: ['v2'],
  })
  r = await req(`${url}/v1/endpoints?service=search`)
  t.same(
    r.json.endpoints.map((e) => e.id),
    ['search~10.0.1.1:9200', 'search~10.0.1.2:9200'],
  )
  r = await req(`${url}/v1/endpoints?state=ejected`)
  t.same(
    r.json.endpoints.map((e) => e.id),
    ['payments~10.0.0.2:8080'],
  )

  r = await req(`${url}/v1/alerts`)
  t.same(r.json, { alerts: [] })
  fake.alertsList = [
    { name: 'payments-errors', rule: 'error-rate', service: 'payments', state: 'firing', severity: 'critical', value: 0.2, threshold: 0.05, startedAt: 1, node: 'node-a' },
  ]
  r = await req(`${url}/v1/alerts`)
  t.equal(r.json.alerts[0]!.name, 'payments-errors')

  r = await req(`${url}/v1/config`)
  t.equal(r.status, 200)
  t.same(r.json, fake.configValue)

  r = await req(`${url}/v1/node`)
  t.match(r.json, { name: 'node-a', configVersion: 'c0ffee12', draining: false })

  r = await req(`${url}/v1/state`)
  t.equal(r.status, 200)
  t.match(r.json, { node: { name: 'node-a', uptimeMs: Number }, readiness: { ready: true }, omittedEndpoints: 0 })
  t.equal(r.json.endpoints.length, 5)
  t.equal(r.json.series['payments~10.0.0.1:8080']!.rps.length, 59, 'sparkline from the complete history buckets')
  t.type(r.json.endpoints[0]!.rps, 'number', 'current req/s from the last complete bucket')
})

t.test('endpoint history', async (t) => {
  const { url, fake } = await startAdmin(t)
  const id = 'search~10.0.1.2:9200'
  fake.setBreaker(id, 'open')
  let r = await req(`${url}/v1/endpoints/${encodeURIComponent(id)}/history`)
  t.equal(r.status, 200)
  t.equal(r.json.id, id)
  t.equal(r.json.bucketMs, 10_000)
  t.ok(r.json.buckets.length > 10)
  t.match(r.json.buckets[0], { start: Number, requests: Number, errors: Number, p99: Number, checksOk: Number, checksFailed: Number })
  t.match(r.json.transitions, [{ from: 'breaker closed', to: 'breaker open', reason: String }])
  // unencoded path works too
  r = await req(`${url}/v1/endpoints/${id}/history`)
  t.equal(r.status, 200)

  const before = Date.now()
  r = await req(`${url}/v1/endpoints/${encodeURIComponent(id)}/history?since=1m`)
  t.equal(r.status, 200)
  const since = fake.historyCalls.at(-1)!.sinceMs!
  t.ok(since >= before - 60_000 - 1000 && since <= Date.now() - 60_000, 'since=1m means one minute back')
  t.ok(r.json.buckets.length <= 7)
  await req(`${url}/v1/endpoints/${encodeURIComponent(id)}/history?since=1700000000000`)
  t.equal(fake.historyCalls.at(-1)!.sinceMs, 1700000000000, 'epoch ms passes through')

  r = await req(`${url}/v1/endpoints/${encodeURIComponent(id)}/history?since=yesterday`)
  t.equal(r.status, 400)
  t.equal(r.json.code, 'COMMY_ERR_ADMIN_BAD_REQUEST')
  r = await req(`${url}/v1/endpoints/${encodeURIComponent('nope~1.2.3.4:5')}/history`)
  t.equal(r.status, 404)
  t.equal(r.json.code, 'COMMY_ERR_ADMIN_NOT_FOUND')
})

t.test('unknown paths and wrong methods are JSON errors', async (t) => {
  const { url } = await startAdmin(t)
  let r = await req(`${url}/nope`)
  t.equal(r.status, 404)
  t.match(r.json, { code: 'COMMY_ERR_ADMIN_NOT_FOUND', status: 404, message: String })
  r = await req(`${url}/v1/reload`)
  t.equal(r.status, 405)
  t.equal(r.json.code, 'COMMY_ERR_ADMIN_METHOD_NOT_ALLOWED')
  t.equal(r.headers.allow, 'POST')
  r = await req(`${url}/v1/members`, { method: 'POST' })
  t.equal(r.status, 405)
  t.equal(r.headers.allow, 'GET')
  r = await req(`${url}/v1/members`, { method: 'DELETE' })
  t.equal(r.status, 405)
})

t.test('metrics endpoint', async (t) => {
  const { url, metrics, fake } = await startAdmin(t)
  const route = metrics.route('public', 'api', 'payments')
  for (let i = 0; i < 250; i++) route.done('10.0.0.1:8080', i < 200 ? 200 : 503, 0.004)
  fake.setBreaker('payments~10.0.0.3:8080', 'open')
  const r = await req(`${url}/metrics`)
  t.equal(r.status, 200)
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const fams = parseProm(r.body)
  t.equal(total(fams, 'commy_requests_total', { service: 'payments', code_class: '2xx' }), 200)
  t.equal(total(fams, 'commy_requests_total', { service: 'payments', code_class: '5xx' }), 50)
  t.equal(total(fams, 'commy_request_duration_seconds_count', { route: 'api' }), 250)
  t.equal(total(fams, 'commy_breaker_state', { endpoint: '10.0.0.3:8080' }), 2)
})

t.test('reload', async (t) => {
  const { url, fake } = await startAdmin(t)
  let r = await req(`${url}/v1/reload`, { method: 'POST' })
  t.equal(r.status, 200)
  t.same(r.json, { ok: true, version: 'beefcafe' })
  t.equal(fake.reloadCalls, 1)
  fake.reloadResults.push({ ok: false, error: '/etc/commy/sidecar.yaml:12:5: services.payments.strategy: unknown strategy "fastest"' })
  r = await req(`${url}/v1/reload`, { method: 'POST', body: 'ignored' })
  t.equal(r.status, 422)
  t.match(r.json, { ok: false, code: 'COMMY_ERR_ADMIN_RELOAD_REFUSED', message: /sidecar\.yaml:12:5/ })
  t.equal(fake.node().configVersion, 'beefcafe', 'refused config leaves the version')

  // one reload at a time
  let release!: () => void
  fake.reload = async () => {
    await new Promise<void>((r) => (release = r))
    return { ok: true, version: 'v3' }
  }
  const first = req(`${url}/v1/reload`, { method: 'POST' })
  await waitFor(() => release !== undefined, 5000) // the first reload is running
  r = await req(`${url}/v1/reload`, { method: 'POST' })
  t.equal(r.status, 409)
  t.equal(r.json.code, 'COMMY_ERR_ADMIN_BUSY')
  release()
  t.equal((await first).status, 200)

  fake.reload = async () => {
    throw new Error('disk on fire')
  }
  r = await req(`${url}/v1/reload`, { method: 'POST' })
  t.equal(r.status, 500)
  t.equal(r.json.code, 'COMMY_ERR_INTERNAL')
})

t.test('drain', async (t) => {
  const { url, fake } = await startAdmin(t)
  fake.drainDelayMs = 100
  let r = await req(`${url}/v1/drain`, { method: 'POST' })
  t.equal(r.status, 202)
  t.same(r.json, { draining: true })
  r = await req(`${url}/readyz`)
  t.equal(r.status, 503, 'readiness fails once draining')
  t.equal(r.json.reason, 'draining')
  r = await req(`${url}/v1/drain?wait=1`, { method: 'POST' })
  t.equal(r.status, 200)
  t.same(r.json, { draining: true, drained: true })
  t.equal(fake.drainCalls, 1, 'drain runs once however often it is asked')
  r = await req(`${url}/healthz`)
  t.equal(r.status, 200, 'admin stays up while draining')
})

t.test('dashboard and assets', async (t) => {
  const { url } = await startAdmin(t)
  let r = await req(`${url}/`)
  t.equal(r.status, 200)
  t.match(r.headers['content-type'], /^text\/html/)
  t.match(r.headers['content-security-policy'], /default-src 'none'/)
  t.equal(r.headers['x-frame-options'], 'DENY')
  t.match(r.body, /<script src="\/assets\/dashboard\.js" defer><\/script>/)
  t.notMatch(r.body, /https?:\/\/(?!www\.w3\.org)/, 'no external URL')
  for (const [path, type] of [
    ['/assets/dashboard.js', /^text\/javascript/],
    ['/assets/dashboard.css', /^text\/css/],
    ['/favicon.svg', /^image\/svg\+xml/],
  ] as const) {
    r = await req(`${url}${path}`)
    t.equal(r.status, 200, path)
    t.match(r.headers['content-type'], type)
    const etag = r.headers.etag as string
    t.ok(etag)
    const again = await req(`${url}${path}`, { headers: { 'if-none-match': etag } })
    t.equal(again.status, 304, `${path} revalidates`)
  }
  r = await req(`${url}/assets/dashboard.js`)
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiles the served script to check that it parses; never runs it
  t.doesNotThrow(() => new Function(r.body), 'client script parses')
})

t.test('server-sent events deliver snapshots', async (t) => {
  const { url, fake, server } = await startAdmin(t)
  const frames: StateSnapshot[] = []
  let res!: import('node:http').IncomingMessage
  const done = new Promise<void>((resolve, reject) => {
    const r = httpRequest(`${url}/v1/events`, { agent: false }, (response) => {
      res = response
      t.match(response.headers['content-type'], /^text\/event-stream/)
      let buf = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        buf += chunk
        let at: number
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, at)
          buf = buf.slice(at + 2)
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')
          if (!data) continue
          frames.push(JSON.parse(data) as StateSnapshot)
          if (frames.length === 1) fake.setBreaker('payments~10.0.0.1:8080', 'open')
          if (frames.length === 3) resolve()
        }
      })
      response.on('end', () => (frames.length >= 3 ? resolve() : reject(new Error('stream ended early'))))
    })
    r.on('error', reject)
    r.end()
  })
  const timer = setTimeout(() => res?.destroy(), 5000)
  await done
  clearTimeout(timer)
  t.equal(frames[0]!.endpoints.find((e) => e.id === 'payments~10.0.0.1:8080')!.breaker, 'closed', 'first snapshot at once')
  t.equal(frames[2]!.endpoints.find((e) => e.id === 'payments~10.0.0.1:8080')!.breaker, 'open', 'later snapshot shows the change')
  t.ok(frames[1]!.t >= frames[0]!.t)
  t.match(frames[0], { node: { name: 'node-a' }, members: Array, services: Array, alerts: Array, series: Object })
  // stop ends open streams and returns
  const ended = new Promise<void>((r) => res.on('close', () => r()))
  await server.stop()
  await ended
  await server.stop() // idempotent
  t.pass('stopped with a stream open')
})

t.test('event streams are capped', async (t) => {
  const { url } = await startAdmin(t, { maxEventStreams: 1 })
  const controller = new AbortController()
  const first = await fetch(`${url}/v1/events`, { signal: controller.signal })
  t.equal(first.status, 200)
  const second = await req(`${url}/v1/events`)
  t.equal(second.status, 503)
  t.equal(second.json.code, 'COMMY_ERR_ADMIN_UNAVAILABLE')
  controller.abort()
  await first.body?.cancel().catch(() => {})
})

t.test('DNS rebinding and cross-site requests are refused', async (t) => {
  const { url, fake, server } = await startAdmin(t)
  const port = server.address().port
  let r = await req(`${url}/v1/drain`, { method: 'POST', headers: { host: `evil.example:${port}` } })
  t.equal(r.status, 403)
  t.equal(r.json.code, 'COMMY_ERR_ADMIN_FORBIDDEN')
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { host: 'evil.example' } })
  t.equal(r.status, 403)
  r = await req(`${url}/v1/config`, { headers: { host: `evil.example:${port}` } })
  t.equal(r.status, 403, 'reads are protected from rebinding too')
  r = await req(`${url}/v1/events`, { headers: { host: `evil.example:${port}` } })
  t.equal(r.status, 403)
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { origin: 'https://evil.example' } })
  t.equal(r.status, 403, 'cross-origin POST (CSRF)')
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { origin: 'null' } })
  t.equal(r.status, 403)
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { origin: `http://localhost:${port + 1 > 65535 ? 1 : port + 1}` } })
  t.equal(r.status, 403, 'another local port is another origin')
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(r.status, 403)
  t.equal(fake.reloadCalls, 0, 'no refused request reached the sidecar')
  t.equal(fake.drainCalls, 0)

  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' } })
  t.equal(r.status, 200, 'same-origin dashboard POST is fine')
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } })
  t.equal(r.status, 200, 'localhost works')
  r = await req(`${url}/v1/members`, { headers: { host: `[::1]:${port}` } })
  t.equal(r.status, 200, '[::1] is loopback')
})

t.test('token: POST always needs it when configured', async (t) => {
  const { url, fake } = await startAdmin(t, {}, { token: TOKEN })
  let r = await req(`${url}/v1/reload`, { method: 'POST' })
  t.equal(r.status, 401)
  t.equal(r.json.code, 'COMMY_ERR_ADMIN_UNAUTHORIZED')
  t.match(r.headers['www-authenticate'], /^Bearer/)
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { authorization: 'Bearer wrong-token-0123456789' } })
  t.equal(r.status, 401)
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { authorization: TOKEN } })
  t.equal(r.status, 401, 'scheme is required')
  t.equal(fake.reloadCalls, 0)
  r = await req(`${url}/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(r.status, 200)
  r = await req(`${url}/v1/drain`, { method: 'POST', headers: { authorization: `bearer ${TOKEN}` } })
  t.equal(r.status, 202)
  // bound to loopback: reads need no token
  r = await req(`${url}/v1/members`)
  t.equal(r.status, 200)
  r = await req(`${url}/metrics`)
  t.equal(r.status, 200)
})

t.test('refuses a non-loopback bind without a token, before opening a socket', async (t) => {
  const fake = new FakeSidecar()
  const metrics = new Metrics({ source: fake, defaultMetrics: false })
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    const server = new AdminServer({ config: config({ listen: { host, port: 0 } }), source: fake, actions: fake, metrics })
    await t.rejects(server.start(), AdminInsecureBindError, `${host} refused`)
    await t.rejects(server.start(), { code: 'COMMY_ERR_ADMIN_INSECURE_BIND' })
    t.throws(() => server.address(), 'nothing bound')
    await server.stop()
  }
})

t.test('a port in use is a typed listen error', async (t) => {
  const { server } = await startAdmin(t)
  const fake = new FakeSidecar()
  const other = new AdminServer({
    config: config({ listen: { host: '127.0.0.1', port: server.address().port } }),
    source: fake,
    actions: fake,
    metrics: new Metrics({ defaultMetrics: false }),
  })
  await t.rejects(other.start(), AdminListenError)
  await other.stop()
})

t.test('a throwing source is a 500 JSON error, and the server keeps serving', async (t) => {
  const { url, fake } = await startAdmin(t)
  fake.members = () => {
    throw new Error('membership exploded')
  }
  let r = await req(`${url}/v1/members`)
  t.equal(r.status, 500)
  t.equal(r.json.code, 'COMMY_ERR_INTERNAL')
  r = await req(`${url}/metrics`)
  t.equal(r.status, 500, 'scrape fails loudly rather than lying')
  r = await req(`${url}/healthz`)
  t.equal(r.status, 200)
})
