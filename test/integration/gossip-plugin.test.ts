/**
 * The gossip plugin inside whole Runtimes (several in this process, real UDP/TCP on 127.0.0.1,
 * `local` profile): announced local services become endpoints elsewhere (route tags, local-zone
 * preference and local health included), mesh passive health with a quorum, readiness while no
 * seed answers, reloads of seeds and local services, leave on drain, the admin API's view.
 */
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import t, { type Test } from 'tap'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { createGossipPlugin, type ResilienceFeed } from '../../src/plugins/gossip.js'
import { LocalServiceHealth } from '../../src/health/local-services.js'
import type { Runtime } from '../../src/runtime.js'
import { adminCall } from '../helpers/admin-runtime.js'
import { eventually, FAST_CHECK, meshConfig, startApp, type MeshNodeOptions } from '../helpers/mesh.js'
import { startRuntime, type TestRuntime } from '../helpers/runtime.js'
import { closedPort, request } from '../helpers/upstream.js'

const KEY = randomBytes(32).toString('base64')

const seedOf = (r: TestRuntime): string => `127.0.0.1:${r.runtime.gossip!.address()!.port}`
const endpointsOf = (r: TestRuntime, service: string) => r.runtime.sidecar.registry.service(service)?.snapshot.all ?? []
const stateOf = (r: TestRuntime, member: string) => r.runtime.gossip!.members().find((m) => m.name === member)?.state
const allAlive = (rs: TestRuntime[], names: string[]) => rs.every((r) => names.every((n) => stateOf(r, n) === 'alive'))

async function node(t: Test, o: MeshNodeOptions): Promise<TestRuntime> {
  const r = await startRuntime(meshConfig(o))
  t.teardown(() => r.stop())
  return r
}

/** The x-app header of `n` GETs of `path` through the node's outbound listener. */
async function servedBy(r: TestRuntime, path: string, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const reply = await request(r.port, { path })
    out.push(reply.status === 200 ? String(reply.headers['x-app']) : `status ${reply.status}`)
  }
  return out
}

t.test('announced services become endpoints elsewhere: tags, local zone and local health', async (t) => {
  const appB = await startApp('b-echo')
  const appC = await startApp('c-echo')
  t.teardown(() => Promise.all([appB.close(), appC.close()]))
  const routes = [
    { name: 'v2', match: { pathPrefix: '/v2' }, service: 'echo', tags: ['v2'] },
    { name: 'echo', match: { pathPrefix: '/' }, service: 'echo' },
  ]
  const services = { echo: { strategy: 'round-robin', preferLocalZone: true } }
  const a = await node(t, { name: 'a', zone: 'z1', key: KEY, routes, services })
  const seeds = [seedOf(a)]
  const b = await node(t, { name: 'b', zone: 'z1', key: KEY, seeds, local: [{ name: 'echo', address: appB.address, tags: ['v1'], healthCheck: FAST_CHECK }] })
  const c = await node(t, { name: 'c', zone: 'z2', key: KEY, seeds, local: [{ name: 'echo', address: appC.address, tags: ['v2'] }] })
  t.ok(a.runtime.gossip!.membership.encrypted, 'encrypted with the key')
  t.notOk(a.lines.some((l) => String(l.msg).includes('NOT encrypted')), 'no plaintext warning with a key')

  await eventually(() => endpointsOf(a, 'echo').length === 2 && allAlive([a, b, c], ['a', 'b', 'c']), 5000, 'a learns both endpoints')
  const byNode = new Map(endpointsOf(a, 'echo').map((ep) => [ep.node, ep]))
  const eb = byNode.get('b')!
  const ec = byNode.get('c')!
  t.match(
    { address: eb.address, source: eb.source, zone: eb.zone, tags: eb.tags },
    { address: appB.address, source: 'gossip', zone: 'z1', tags: ['v1'] },
    "b's announcement: address, zone, tags",
  )
  t.match({ address: ec.address, zone: ec.zone, tags: ec.tags }, { address: appC.address, zone: 'z2', tags: ['v2'] })
  const bInfo = a.runtime.gossip!.members().find((m) => m.name === 'b')!
  t.match(bInfo, { zone: 'z1', adminAddress: new URL(b.runtime.admin.url()!).host }, "b's zone and bound admin address (admin.listen port 0)")
  await eventually(() => eb.activeHealth === 'healthy', 3000, "b's local check verdict reaches a")
  t.equal(ec.activeHealth, 'unknown', 'c has no local check: unknown, still eligible')

  t.same(new Set(await servedBy(a, '/x', 10)), new Set(['b-echo']), 'the local zone (z1) is preferred')
  t.same(new Set(await servedBy(a, '/v2/x', 6)), new Set(['c-echo']), 'route tags [v2]: the other zone, since no local endpoint has them')

  const incarnation = a.runtime.gossip!.members().find((m) => m.name === 'b')!.incarnation
  appB.healthy = false
  await eventually(() => eb.activeHealth === 'unhealthy', 3000, "b's failing check reaches a")
  t.match(eb.activeReason, /reported unhealthy by node b/)
  t.ok(a.runtime.gossip!.members().find((m) => m.name === 'b')!.incarnation > incarnation, 'the new metadata came with a higher incarnation')
  t.same(new Set(await servedBy(a, '/x', 6)), new Set(['c-echo']), 'no healthy endpoint in z1: the other zone serves')
  const view = (await adminCall(a.runtime.admin.url()!, '/v1/endpoints?service=echo')).body.endpoints
  t.match(view.find((e) => e.node === 'b'), { state: 'unhealthy', source: 'gossip' }, 'admin API shows the reported health')

  appB.healthy = true
  await eventually(() => eb.activeHealth === 'healthy', 3000, 'recovery reaches a')
  t.same(new Set(await servedBy(a, '/x', 4)), new Set(['b-echo']), 'back to the local zone')
})

t.test('mesh passive health: a quorum of sidecars ejecting an endpoint lowers its weight elsewhere, one alone does not', async (t) => {
  const bad = await startApp('bad')
  const good = await startApp('good')
  bad.status = 500
  t.teardown(() => Promise.all([bad.close(), good.close()]))
  const services = {
    flaky: {
      strategy: 'weighted',
      endpoints: [{ address: bad.address }, { address: good.address }],
      outlierDetection: { enabled: true, consecutiveErrors: 2, baseEjectionTime: '2s', maxEjectionPercent: 50 },
      breaker: { enabled: false },
      panicThreshold: 0,
    },
  }
  const routes = [{ name: 'flaky', match: { pathPrefix: '/' }, service: 'flaky' }]
  const a = await node(t, { name: 'a', key: KEY, services, routes })
  const b = await node(t, { name: 'b', key: KEY, services, routes, seeds: [seedOf(a)] })
  const c = await node(t, { name: 'c', key: KEY, services, routes, seeds: [seedOf(a)] })
  await eventually(() => allAlive([a, b, c], ['a', 'b', 'c']), 5000, 'converged')
  const badAt = (r: TestRuntime) => r.runtime.sidecar.registry.service('flaky')!.get(bad.address)!

  const ejectThrough = async (r: TestRuntime) => {
    for (let i = 0; i < 10 && badAt(r).ejectedUntil <= Date.now(); i++) await request(r.port)
    t.ok(badAt(r).ejectedUntil > 0, `${r.config.node.name} ejected the failing endpoint`)
  }
  await ejectThrough(a)
  await eventually(() => c.runtime.gossip!.membership.meshReporters(bad.address).includes('a'), 3000, "c hears a's report")
  t.equal(badAt(c).meshFactor, 1, 'one reporter: no change at c (one sidecar never ejects mesh-wide)')

  await ejectThrough(b)
  const ms = await eventually(() => badAt(c).meshFactor === 0.5, 3000, 'quorum of 2 reaches c')
  t.pass(`c lowered the endpoint's weight ${ms} ms after b's ejection`)
  t.equal(badAt(c).ejectedUntil, 0, 'c itself has not ejected it')
  t.equal(c.runtime.sidecar.registry.service('flaky')!.get(good.address)!.meshFactor, 1, 'the good endpoint is untouched')
  const view = (await adminCall(c.runtime.admin.url()!, '/v1/endpoints?service=flaky')).body.endpoints
  t.equal(view.find((e) => e.address === bad.address)!.effectiveWeight, 0.5, 'admin API: effective weight halved')

  await eventually(() => badAt(c).meshFactor === 1, 6000, 'restored once the ejections end')
  t.pass('weight restored after the ejections ended')
})

t.test('readiness waits for a seed; reloads join new seeds and re-announce local services; drain leaves', async (t) => {
  const app = await startApp('x-echo')
  t.teardown(() => app.close())
  const a = await node(t, { name: 'a' })
  t.match(
    a.lines.find((l) => l.component === 'gossip' && l.level === 40 && String(l.msg).includes('NOT encrypted')),
    { msg: /set gossip.key/ },
    'no key: commy warns at start',
  )
  t.same(a.runtime.readiness(), { ready: true }, 'no seed configured: ready at once')

  const nowhere = `127.0.0.1:${await closedPort()}`
  const xOptions: MeshNodeOptions = { name: 'x', seeds: [nowhere], local: [{ name: 'echo', address: app.address }] }
  const x = await node(t, xOptions)
  const rt: Runtime = x.runtime
  t.match(rt.readiness(), { ready: false, reason: /gossip: joining/ }, 'a seed that does not answer: not ready')
  const readyz = await adminCall(rt.admin.url()!, '/readyz')
  t.equal(readyz.status, 503, '/readyz answers 503')

  // apply() may return a promise (awaited either way)
  const reload = async (o: MeshNodeOptions): Promise<void> => {
    await rt.apply(parseConfig(JSON.stringify(meshConfig(o)), 'test.yaml'))
  }
  await reload({ ...xOptions, seeds: [seedOf(a)] })
  const joined = await eventually(() => rt.readiness().ready && stateOf(a, 'x') === 'alive', 3000, 'joined through the reloaded seed')
  t.pass(`joined ${joined} ms after the reload added a seed`)
  await eventually(() => endpointsOf(a, 'echo').some((ep) => ep.node === 'x'), 3000, "a learns x's service")

  await reload({ ...xOptions, seeds: [seedOf(a)], local: [{ name: 'echo', address: app.address }, { name: 'solo', address: app.address, tags: ['solo'] }] })
  await eventually(() => endpointsOf(a, 'solo').some((ep) => ep.node === 'x'), 3000, 'a new local service reaches a')
  t.same(rt.gossip!.announced().services.map((s) => s.name), ['echo', 'solo'], 'announced now')
  t.equal((await request(a.port, { path: '/solo/1' })).headers['x-app'], 'x-echo', 'and is reachable through a')

  const members = (await adminCall(a.runtime.admin.url()!, '/v1/members')).body.members
  t.match(
    [...members].sort((p, q) => p.name.localeCompare(q.name)),
    [
      { name: 'a', state: 'alive', services: [], self: true },
      { name: 'x', state: 'alive', services: ['echo', 'solo'], self: false },
    ],
    'admin /v1/members',
  )
  const metrics = (await adminCall(a.runtime.admin.url()!, '/metrics')).text
  t.match(metrics, /commy_members\{state="alive"\} 2/, 'members by state in /metrics')
  t.match(metrics, /commy_gossip_messages_total\{direction="in",type="alive"\} [1-9]/, 'gossip counters in /metrics')

  t.ok((await app.connections()) > 0, "a holds a pooled connection to x's app")
  const drained = Date.now()
  const draining = rt.drain()
  const gone = await eventually(() => stateOf(a, 'x') === 'left' && endpointsOf(a, 'echo').length === 0, 1000, 'x left everywhere', 5)
  t.ok(Date.now() - drained <= 1000, `a saw x leave and dropped its endpoints ${gone} ms after the drain began`)
  await draining
  await eventually(async () => (await app.connections()) === 0, 2000, 'pools closed')
  t.pass("a closed its pools to the departed endpoints")
  t.match(rt.readiness(), { ready: false })
  await rt.stop()
  await rt.gossip!.stop()
  t.pass('stop is idempotent')
})

t.test('a sidecar with the wrong key cannot join: never ready, invisible to the mesh, counted as auth failures', async (t) => {
  const a = await node(t, { name: 'a', key: KEY })
  const w = await node(t, { name: 'w', key: randomBytes(32).toString('base64'), seeds: [seedOf(a)] })
  await eventually(() => a.runtime.gossip!.counters().drops.auth > 0, 3000, 'auth failures counted at a')
  t.match(w.runtime.readiness(), { ready: false, reason: /gossip: joining/ }, 'w is not ready')
  t.same(a.runtime.gossip!.members().map((m) => m.name), ['a'], 'a knows only itself')
  t.same(w.runtime.gossip!.members().map((m) => m.name), ['w'], 'w learned nothing')
  const metrics = (await adminCall(a.runtime.admin.url()!, '/metrics')).text
  t.match(metrics, /commy_gossip_auth_failures_total [1-9]/, 'commy_gossip_auth_failures_total')
})

t.test('the plugin alone: ejections of one address are one mesh report; loop lag feeds Lifeguard; readiness; stop', async (t) => {
  const config = parseConfig(JSON.stringify(meshConfig({ name: 'lone', key: KEY })), 'test.yaml')
  let feed: Parameters<ResilienceFeed['on']>[0] = {}
  const resilience: ResilienceFeed = {
    on: (events) => {
      feed = events
      return () => void (feed = {})
    },
  }
  const local = new LocalServiceHealth([], { clock: systemClock, random: Math.random })
  const plugin = createGossipPlugin({ config, currentConfig: () => config, clock: systemClock, random: Math.random, logger: pino({ level: 'silent' }), gossip: config.gossip!, health: { local }, resilience })
  t.teardown(() => plugin.stop())
  t.same(plugin.readiness(), { ready: false, reason: 'gossip: not started' })
  await plugin.start()
  t.same(plugin.readiness(), { ready: true }, 'no seed: ready once started')
  t.ok(plugin.address()!.port > 0, `bound to ${plugin.address()!.host}:${plugin.address()!.port} (port 0 in the config)`)

  const addr = '127.0.0.1:9'
  const ejection = (service: string) => ({ service, endpoint: addr, endpointId: `${service}~${addr}`, durationMs: 1000, multiplier: 1, reason: 'test', ejections: 1 })
  const reporters = () => plugin.membership.meshReporters(addr)
  feed.ejection!(ejection('one'))
  feed.ejection!(ejection('two'))
  t.same(reporters(), ['lone'], 'the first ejection reports the address failing')
  feed.ejectionEnded!({ service: 'one', endpoint: addr, endpointId: `one~${addr}` })
  t.same(reporters(), ['lone'], 'still failing while another service has it ejected')
  feed.ejectionEnded!({ service: 'two', endpoint: addr, endpointId: `two~${addr}` })
  t.same(reporters(), [], 'recovered when the last ejection ends')

  t.equal(plugin.membership.localHealth, 0)
  feed.lag!({ lagging: true, delayMs: 1000, thresholdMs: 100 })
  await eventually(() => plugin.membership.localHealth > 0, 3000, 'local health score rises')
  t.pass(`event-loop lag raised Lifeguard's local health score to ${plugin.membership.localHealth}`)
  feed.lag!({ lagging: false, delayMs: 5, thresholdMs: 100 })

  await plugin.stop()
  await plugin.stop()
  t.same(feed, {}, 'unsubscribed from the resilience events')
  t.match(plugin.readiness(), { ready: false })
})
