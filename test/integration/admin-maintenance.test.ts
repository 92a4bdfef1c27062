/**
 * The runtime controls against a running commy (Runtime + admin server): an endpoint's
 * maintenance (in-flight requests finish, no new ones, shown in /v1/endpoints, kept across a
 * reload, undone), a sidecar drain undone by POST /v1/undrain (listeners accept again at the same
 * port, /readyz 200, gossip alive again), and for each action: write access, one info log line
 * with who and what, `commy_admin_actions_total{action}`, and a named event on /v1/events.
 */
import http from 'node:http'
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { parseProm, total } from '../helpers/prom-parse.js'
import { startRuntime, until } from '../helpers/runtime.js'
import { json, request, startUpstream, type Handler } from '../helpers/upstream.js'

const TOKEN = 'maintenance-test-token-0123456789'

/** Answers its name; `/slow` after 600 ms. */
const named: Handler = (req, res, up) => {
  req.resume()
  const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: up.name }))
  if (req.url?.includes('slow')) setTimeout(answer, 600)
  else answer()
}

async function admin(base: string, path: string, method = 'GET', token: string | null = TOKEN): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
  const res = await fetch(`${base}${path}`, { method, headers, signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    /* not JSON (metrics) */
  }
  return { status: res.status, body, text }
}

/** The first bytes of /v1/events until `done(text)` holds (bounded). */
function readEvents(base: string, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL('/v1/events', base)
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        text += c
        if (done(text)) {
          req.destroy()
          resolve(text)
        }
      })
    })
    req.setTimeout(5000, () => req.destroy(new Error('no such events within 5 s')))
    req.on('error', reject)
  })
}

t.test('endpoint maintenance and sidecar undrain on a running commy', async (t) => {
  const a = await startUpstream('a', named)
  const b = await startUpstream('b', named)
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const doc = {
    node: { name: 'maint-1' },
    admin: { listen: '127.0.0.1:0', token: TOKEN },
    log: { level: 'info', accessLog: false },
    limits: { drainGrace: '100ms', drainTimeout: '5s' },
    gossip: { listen: '127.0.0.1:0', probeInterval: '200ms' },
    listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ name: 'pay', match: { pathPrefix: '/' }, service: 'payments' }] }],
    services: {
      payments: { strategy: 'round-robin', endpoints: [{ address: a.address }, { address: b.address }], outlierDetection: { enabled: false } },
    },
  }
  const text = JSON.stringify(doc)
  const rt = await startRuntime(doc, { loadConfig: () => parseConfig(text, 'test.yaml') })
  t.teardown(() => rt.stop())
  const base = rt.runtime.admin.url()!
  const port = rt.port
  const upstreamOf = async (path = '/') => json(await request(port, { path })).upstream as string
  const idA = `payments~${a.address}`

  const before = new Set<string>()
  for (let i = 0; i < 4; i++) before.add(await upstreamOf())
  t.same([...before].sort(), ['a', 'b'], 'both endpoints serve before')

  // ---- write access: no token, no maintenance
  t.equal((await admin(base, `/v1/endpoints/${encodeURIComponent(idA)}/drain`, 'POST', null)).status, 401, 'the token is needed')
  t.equal((await admin(base, `/v1/endpoints/${encodeURIComponent('payments~127.0.0.1:1')}/drain`, 'POST')).status, 404, 'an unknown id is 404')
  t.equal((await admin(base, '/v1/local/nope/drain', 'POST')).status, 404, 'an unknown local service is 404')

  // ---- in flight on A across its maintenance
  const aSeen = a.seen.length
  let slow: Promise<string> | undefined
  for (let i = 0; i < 2 && slow === undefined; i++) {
    const p = request(port, { path: '/slow' }).then((r) => json(r).upstream as string)
    if (await until(() => a.seen.length > aSeen, 300)) slow = p
    else await p
  }
  t.ok(slow, 'a slow request is in flight on A')
  const on = await admin(base, `/v1/endpoints/${encodeURIComponent(idA)}/drain`, 'POST')
  t.equal(on.status, 200)
  t.same(on.body, { target: 'endpoint', id: idA, maintenance: true, changed: true })
  t.equal(await slow, 'a', 'the request in flight on A finished')
  const view = (await admin(base, '/v1/endpoints')).body.endpoints as Record<string, unknown>[]
  t.match(view.find((e) => e.id === idA), { state: 'draining', reason: 'maintenance', maintenance: true, eligible: false })
  t.match(view.find((e) => e.id !== idA), { state: 'healthy', maintenance: false })
  const during = new Set<string>()
  for (let i = 0; i < 6; i++) during.add(await upstreamOf())
  t.same([...during], ['b'], 'no new request goes to A')
  t.same((await admin(base, `/v1/endpoints/${encodeURIComponent(idA)}/drain`, 'POST')).body.changed, false, 'asking again changes nothing')

  // ---- kept across a reload
  t.equal((await admin(base, '/v1/reload', 'POST')).status, 200)
  t.match(((await admin(base, '/v1/endpoints')).body.endpoints as Record<string, unknown>[]).find((e) => e.id === idA), { maintenance: true }, 'maintenance survives a reload')

  // ---- undone
  const off = await admin(base, `/v1/endpoints/${encodeURIComponent(idA)}/undrain`, 'POST')
  t.same(off.body, { target: 'endpoint', id: idA, maintenance: false, changed: true })
  const after = new Set<string>()
  for (let i = 0; i < 4; i++) after.add(await upstreamOf())
  t.same([...after].sort(), ['a', 'b'], 'A serves again')

  // ---- sidecar drain, then undrain
  t.equal((await admin(base, '/v1/undrain', 'POST')).body.changed, false, 'undrain without a drain changes nothing')
  t.same((await admin(base, '/v1/drain?wait=1', 'POST')).body, { draining: true, drained: true })
  t.equal((await admin(base, '/readyz', 'GET', null)).status, 503)
  await t.rejects(request(port, { path: '/late', timeoutMs: 2000 }), 'the listener is closed once drained')
  t.equal(((await admin(base, '/v1/members')).body.members as { state: string }[])[0]!.state, 'left', 'gossip left')
  const undrain = await admin(base, '/v1/undrain', 'POST')
  t.same(undrain.body, { draining: false, changed: true })
  t.equal((await admin(base, '/readyz', 'GET', null)).status, 200, '/readyz 200 again')
  t.equal((await admin(base, '/v1/node')).body.draining, false)
  t.equal(rt.runtime.sidecar.address().port, port, 'same port')
  const back = await request(port, { path: '/back', headers: { connection: 'keep-alive' } })
  t.equal(back.status, 200, 'the listener accepts again')
  t.not(back.headers.connection, 'close', 'responses keep their connection')
  t.equal(((await admin(base, '/v1/members')).body.members as { state: string }[])[0]!.state, 'alive', 'alive in gossip again')
  // a second drain works like the first
  t.same((await admin(base, '/v1/drain?wait=1', 'POST')).body, { draining: true, drained: true })
  t.same((await admin(base, '/v1/undrain', 'POST')).body, { draining: false, changed: true })
  t.equal((await request(port, { path: '/again' })).status, 200)

  // ---- counted, logged once each, published
  const fams = parseProm((await admin(base, '/metrics')).text)
  t.equal(total(fams, 'commy_admin_actions_total', { action: 'maintenance_on' }), 2, 'maintenance on counted (twice asked)')
  t.equal(total(fams, 'commy_admin_actions_total', { action: 'maintenance_off' }), 1)
  t.equal(total(fams, 'commy_admin_actions_total', { action: 'drain' }), 2)
  t.equal(total(fams, 'commy_admin_actions_total', { action: 'undrain' }), 2, 'an undrain that changed nothing is not counted')
  const logged = rt.lines.filter((l) => typeof l.action === 'string')
  t.match(logged.map((l) => [l.action, l.id ?? null, l.level]), [
    ['maintenance_on', idA, 30],
    ['maintenance_on', idA, 30],
    ['maintenance_off', idA, 30],
    ['drain', null, 30],
    ['undrain', null, 30],
    ['drain', null, 30],
    ['undrain', null, 30],
  ])
  t.ok(logged.every((l) => /^127\.0\.0\.1 \(token\)$/.test(String(l.by))), 'who: the peer address, with a token')
  t.notOk(JSON.stringify(rt.lines).includes(TOKEN), 'the token is never logged')
  const events = await readEvents(base, (s) => (s.match(/event: undrain/g) ?? []).length >= 2 && s.includes('\ndata: {"t"'))
  const named_ = [...events.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => ({ kind: m[1], ...(JSON.parse(m[2]!) as Record<string, unknown>) }))
  t.match(named_, [
    { kind: 'maintenance', target: 'endpoint', id: idA, on: true },
    { kind: 'maintenance', target: 'endpoint', id: idA, on: false },
    { kind: 'drain' },
    { kind: 'undrain' },
    { kind: 'drain' },
    { kind: 'undrain' },
  ], 'each action that changed something is on the event stream (replayed to a stream opened later)')
})
