import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { ManualClock, seededRandom, systemClock } from '../../src/clock.js'
import type { HealthCheckConfig, LocalServiceConfig } from '../../src/config/types.js'
import { Endpoint } from '../../src/endpoint/endpoint.js'
import { ServiceEndpoints } from '../../src/endpoint/service-endpoints.js'
import { LocalServiceHealth, type LocalServiceStatus } from '../../src/health/local-services.js'
import { EndpointStateTracker } from '../../src/health/state-tracker.js'
import { startUpstream } from '../helpers/upstream.js'
import { startRuntime } from '../helpers/runtime.js'
import { parseProm, total } from '../helpers/prom-parse.js'

const check: HealthCheckConfig = {
  kind: 'http',
  path: '/health',
  method: 'GET',
  expectStatus: [200, 299],
  expectBody: 'ok',
  headers: {},
  intervalMs: 20,
  timeoutMs: 500,
  jitter: 0,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  remote: false,
}

const local = (name: string, port: number, healthCheck: HealthCheckConfig | undefined): LocalServiceConfig => ({
  name,
  address: `127.0.0.1:${port}`,
  host: '127.0.0.1',
  port,
  weight: 1,
  tags: [],
  healthCheck,
  allow: undefined,
  tls: undefined,
})

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(5)
  }
}

t.test('local services: checked by this node, status published on change', async (t) => {
  let body = 'ok'
  const app = await startUpstream('app', (_req, res) => void res.writeHead(200).end(body))
  t.teardown(() => app.close())
  const health = new LocalServiceHealth([local('web', app.port, check), local('batch', 1, undefined)], { clock: systemClock, random: seededRandom(1) })
  const changes: LocalServiceStatus[] = []
  health.onChange((s) => changes.push(s))
  t.same(health.status('web'), { name: 'web', address: app.address, health: 'unknown', reason: '', since: 0 })
  health.start()
  t.teardown(() => health.stop())
  await until(() => health.status('web')!.health === 'healthy')
  body = 'degraded'
  await until(() => health.status('web')!.health === 'unhealthy')
  t.equal(health.status('web')!.reason, 'HTTP 200 from /health: body does not contain "ok"')
  t.same(changes.map((c) => [c.name, c.health]), [['web', 'healthy'], ['web', 'unhealthy']])
  t.ok(changes[1]!.since > 0)
  t.same(health.statuses().map((s) => [s.name, s.health]), [['web', 'unhealthy'], ['batch', 'unknown']], 'no check: unknown (peers treat it as eligible)')
  t.equal(health.status('nope'), undefined)
  await health.stop()
  const n = app.seen.length
  await sleep(60)
  t.equal(app.seen.length, n, 'no checks after stop')
})

t.test('state tracker: records eligibility changes with reasons, including ones a snapshot does not show', async (t) => {
  const clock = new ManualClock(0)
  const svc = new ServiceEndpoints({ name: 'pay', panicThreshold: 0, slowStartMs: 0, latencyDecayMs: 10_000, preferLocalZone: false, localZone: undefined, now: () => clock.now() })
  svc.apply('static', [1, 2].map((port) => ({ host: '127.0.0.1', port, weight: 1, zone: undefined, tags: [] })))
  const seen: string[] = []
  const tracker = new EndpointStateTracker((ep, from, to, reason) => seen.push(`${ep.port} ${from}->${to} (${reason})`), () => clock.now())
  const off = tracker.observe(svc)
  const a = svc.get('127.0.0.1:1')!
  a.ejectedUntil = 30_000
  a.ejectionReason = '5 consecutive errors'
  svc.refresh()
  a.activeHealth = 'unhealthy'
  a.activeReason = 'connect ECONNREFUSED'
  svc.refresh() // the eligible set does not change: only sweep() sees it
  tracker.sweep()
  svc.apply('static', [1, 2, 3].map((port) => ({ host: '127.0.0.1', port, weight: port === 3 ? 0 : 1, zone: undefined, tags: [] })))
  svc.apply('static', [{ host: '127.0.0.1', port: 2, weight: 1, zone: undefined, tags: [] }])
  t.same(seen, [
    '1 healthy->ejected (5 consecutive errors)',
    '1 ejected->unhealthy (connect ECONNREFUSED)',
    '3 new->draining (weight 0 (draining))',
    '1 unhealthy->removed (left the service)',
    '3 draining->removed (left the service)',
  ])
  off()
  svc.apply('static', [])
  t.equal(seen.length, 5, 'nothing after unsubscribing')
  t.ok(a instanceof Endpoint)
})

t.test('local services follow a reload: added, removed, moved, check added', async (t) => {
  const app = await startUpstream('app', (_req, res) => void res.writeHead(200).end('ok'))
  const app2 = await startUpstream('app2', (_req, res) => void res.writeHead(200).end('ok'))
  t.teardown(() => Promise.all([app.close(), app2.close()]))
  const health = new LocalServiceHealth([local('web', app.port, check), local('batch', app.port, undefined)], { clock: systemClock, random: seededRandom(2) })
  const changes: string[] = []
  health.onChange((s) => changes.push(`${s.name} ${s.health} ${s.address}`))
  health.start()
  t.teardown(() => health.stop())
  await until(() => health.status('web')!.health === 'healthy')
  health.reconfigure([local('batch', app.port, check), local('api', app2.port, undefined), local('web', app2.port, check)])
  t.same(health.statuses().map((s) => s.name).sort(), ['api', 'batch', 'web'])
  t.equal(health.status('web')!.address, app2.address, 'moved: a fresh endpoint')
  await until(() => health.status('batch')!.health === 'healthy' && health.status('web')!.health === 'healthy')
  t.equal(health.status('api')!.health, 'unknown')
  t.ok(changes.includes(`api unknown ${app2.address}`), 'listeners hear an added service')
  t.ok(changes.includes(`web unknown ${app2.address}`), 'and a moved one')
  health.reconfigure([local('api', app2.port, undefined)])
  t.same(health.statuses().map((s) => s.name), ['api'])
  const n = app.seen.length + app2.seen.length
  await sleep(60)
  t.equal(app.seen.length + app2.seen.length, n, 'removed services are no longer checked')
})

t.test('a running sidecar counts its local services\' checks in commy_health_checks_total and keeps their history', async (t) => {
  let up = true
  const app = await startUpstream('app', (_req, res) => void res.writeHead(up ? 200 : 503).end('ok'))
  const other = await startUpstream('other')
  const r = await startRuntime({
    listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'other' }] }],
    services: { other: { endpoints: [{ address: other.address }] } },
    local: { services: [{ name: 'web', address: app.address, healthCheck: { http: { path: '/health' }, interval: '30ms', unhealthyThreshold: 2, healthyThreshold: 1 } }] },
  })
  t.teardown(async () => {
    await r.stop()
    await Promise.all([app.close(), other.close()])
  })
  const admin = r.runtime.admin.url()!
  const checks = async (result: string) => total(parseProm(await (await fetch(`${admin}/metrics`)).text()), 'commy_health_checks_total', { service: 'web', endpoint: app.address, result })
  const passed = async () => (await checks('pass')) >= 2
  for (let i = 0; i < 200 && !(await passed()); i++) await sleep(20)
  t.ok(await passed(), 'passing checks counted')
  up = false
  for (let i = 0; i < 200 && (await checks('fail')) < 2; i++) await sleep(20)
  t.ok((await checks('fail')) >= 2, 'failing checks counted')
  await until(() => r.runtime.health.local.status('web')!.health === 'unhealthy')

  const id = encodeURIComponent(`web~${app.address}`)
  const res = await fetch(`${admin}/v1/endpoints/${id}/history`)
  t.equal(res.status, 200)
  const h = (await res.json()) as { buckets: { checksOk: number; checksFailed: number }[]; transitions: { from: string; to: string; reason: string }[] }
  t.ok(h.buckets.reduce((a, b) => a + b.checksOk, 0) >= 2, 'passes in the history')
  t.ok(h.buckets.reduce((a, b) => a + b.checksFailed, 0) >= 2, 'failures in the history')
  t.ok(h.transitions.some((x) => x.to === 'unhealthy' && /503/.test(x.reason)), 'the transition and its reason')
})
