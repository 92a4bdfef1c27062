/**
 * The probe listener (`probes.listen`) of a running commy: /healthz, /readyz and /metrics answer
 * as the admin server's do (the same handlers), without a token; nothing else is served (404),
 * only GET/HEAD (405); small limits (431 on large headers, a connection cap); readiness follows
 * drain and the gossip join (a cluster of one after gossip.joinTimeout); a changed probes.listen
 * on reload is logged and the listener keeps serving; a port in use fails the start with
 * COMMY_ERR_PROBES_LISTEN.
 */
import { connect, createServer, type Socket } from 'node:net'
import t from 'tap'
import { adminCall, createRuntime, startRuntime, type TestRuntime } from '../helpers/admin-runtime.js'
import { parseProm } from '../helpers/prom-parse.js'
import { until } from '../helpers/runtime.js'

const TOKEN = 'probe-test-admin-token-0123456789'

function yaml(extra = '', probes = '"127.0.0.1:0"'): string {
  return `
node: { name: probe-node }
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
probes: { listen: ${probes} }
log: { level: warn, accessLog: false }
limits: { drainGrace: 50ms, drainTimeout: 1s }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ name: all, match: { pathPrefix: / }, service: api }]
services:
  api:
    endpoints: [{ address: "127.0.0.1:9" }]
${extra}`
}

function probesUrl(r: TestRuntime): string {
  const a = r.runtime.admin.probesAddress()
  if (a === undefined) throw new Error('probe listener not started')
  return `http://${a.host}:${a.port}`
}

t.test('probe listener: the three platform paths, the same answers as the admin server, nothing else', async (t) => {
  const r = await startRuntime(yaml())
  t.teardown(() => r.stop())
  const probes = probesUrl(r)
  t.not(probes, r.admin(), 'its own port')

  for (const path of ['/healthz', '/readyz']) {
    const p = await adminCall(probes, path)
    const a = await adminCall(r.admin(), path)
    t.equal(p.status, 200, `${path} 200`)
    t.same(p.body, a.body, `${path}: the same JSON as the admin server's`)
    t.equal(p.headers.get('content-type'), a.headers.get('content-type'))
  }
  const m = await adminCall(probes, '/metrics?x=1')
  t.equal(m.status, 200, '/metrics without a token')
  t.equal(m.headers.get('content-type'), (await adminCall(r.admin(), '/metrics', { token: TOKEN })).headers.get('content-type'))
  const families = parseProm(m.text)
  t.ok(families.size > 0 && [...families.keys()].some((n) => n.startsWith('commy_')), 'Prometheus text with commy metrics')
  const head = await fetch(`${probes}/readyz`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD')
  t.equal(await head.text(), '', 'HEAD has no body')

  for (const path of ['/', '/v1/config', '/v1/node', '/v1/members', '/v1/state', '/v1/events', '/dashboard.js', '/healthz/x']) {
    const res = await adminCall(probes, path, { token: TOKEN })
    t.equal(res.status, 404, `${path}: 404 even with the admin token`)
    t.match(res.body, { code: 'COMMY_ERR_ADMIN_NOT_FOUND', status: 404 }, `${path}: a JSON error`)
  }
  for (const [method, path] of [['POST', '/v1/reload'], ['POST', '/v1/drain'], ['POST', '/readyz'], ['PUT', '/metrics'], ['DELETE', '/healthz'], ['OPTIONS', '/readyz']] as const) {
    const res = await adminCall(probes, path, { method, token: TOKEN })
    t.equal(res.status, 405, `${method} ${path}: 405`)
    t.equal(res.headers.get('allow'), 'GET, HEAD')
    t.equal(res.body.code, 'COMMY_ERR_ADMIN_METHOD_NOT_ALLOWED')
  }
  t.equal(r.runtime.readiness().ready, true, 'nothing was drained or reloaded by those requests')
})

t.test('probe listener limits: 431 on large headers, a cap on connections', async (t) => {
  const r = await startRuntime(yaml())
  t.teardown(() => r.stop())
  const probes = probesUrl(r)
  const big = await fetch(`${probes}/healthz`, { headers: { 'x-big': 'a'.repeat(10 * 1024) } })
  t.equal(big.status, 431, 'more than 8 KiB of headers')
  await big.text()

  const { host, port } = r.runtime.admin.probesAddress()!
  const held: Socket[] = []
  t.teardown(() => held.forEach((s) => s.destroy()))
  for (let i = 0; i < 64; i++) {
    const s = connect(port, host)
    s.on('error', () => {})
    await new Promise((resolve) => s.once('connect', resolve))
    held.push(s)
  }
  const refused = await fetch(`${probes}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
    () => 'answered',
    () => 'refused',
  )
  t.equal(refused, 'refused', 'the 65th connection is closed')
  held.splice(0).forEach((s) => s.destroy())
  let ok = false
  for (let i = 0; i < 50 && !ok; i++) {
    ok = await fetch(`${probes}/healthz`).then((res) => res.status === 200, () => false)
    if (!ok) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(ok, 'answers again once connections close')
})

t.test('readiness on the probe listener follows drain', async (t) => {
  const r = await startRuntime(yaml())
  t.teardown(() => r.stop())
  const probes = probesUrl(r)
  t.equal((await adminCall(probes, '/readyz')).status, 200)
  await r.runtime.drain()
  const res = await adminCall(probes, '/readyz')
  t.equal(res.status, 503)
  t.match(res.body, { ready: false, reason: 'draining', code: 'COMMY_ERR_NOT_READY' })
  t.equal((await adminCall(probes, '/healthz')).status, 200, 'still alive while draining')
})

t.test('a seed that never answers: /readyz 503 until gossip.joinTimeout, then ready as a cluster of one', async (t) => {
  const r = await startRuntime(yaml('gossip: { listen: "127.0.0.1:0", profile: local, seeds: ["127.0.0.1:9"], joinTimeout: 1500ms }'))
  t.teardown(() => r.stop())
  const probes = probesUrl(r)
  const started = Date.now()
  const first = await adminCall(probes, '/readyz')
  if (Date.now() - started < 1000) {
    t.equal(first.status, 503, 'not ready while the seed may still answer')
    t.match(first.body.reason, /gossip: joining/)
  }
  t.ok(await until(() => r.runtime.readiness().ready, 10_000), 'ready once the join timeout passed')
  t.equal((await adminCall(probes, '/readyz')).status, 200)
  t.match(r.runtime.gossip?.membership.joinStatus, { kind: 'alone', why: 'timeout' })
  t.ok(r.lines.some((l) => String(l.msg).includes('cluster of one')), 'logged (warn)')
})

t.test('reload: a changed probes.listen is logged and the listener keeps serving; no probes: none bound', async (t) => {
  const r = await startRuntime(yaml())
  t.teardown(() => r.stop())
  const before = probesUrl(r)
  r.write(yaml('', '"127.0.0.1:1"'))
  t.match(await r.runtime.reload(), { ok: true })
  t.ok(r.lines.some((l) => String(l.msg).startsWith('probes.listen changed: restart')), 'warned')
  t.equal(probesUrl(r), before, 'same address')
  t.equal((await adminCall(before, '/healthz')).status, 200)

  const none = await startRuntime(yaml().replace(/^probes:.*$/m, ''))
  t.teardown(() => none.stop())
  t.equal(none.runtime.admin.probesAddress(), undefined)
})

t.test('a probes.listen port in use: start fails with COMMY_ERR_PROBES_LISTEN and the admin server is closed again', async (t) => {
  const busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => busy.close())
  const port = (busy.address() as { port: number }).port
  const r = createRuntime(yaml('', `"127.0.0.1:${port}"`))
  t.teardown(() => r.stop())
  await t.rejects(r.runtime.start(), { code: 'COMMY_ERR_PROBES_LISTEN' })
  t.equal(r.runtime.admin.address(), undefined)
})
