/**
 * The health plugin in a Runtime: what it exposes (history, alerts, local, events), how it
 * follows a reload (rules, local services, services added and removed), breaker transitions in
 * the history, and its lifecycle (every timer cancelled, stop idempotent).
 */
import t from 'tap'
import { pino } from 'pino'
import { ManualClock, seededRandom } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import type { Alert } from '../../src/health/alerts.js'
import { createHealthPlugin, type EndpointTransition } from '../../src/plugins/health.js'
import { Runtime } from '../../src/runtime.js'
import { captureLogs, waitFor } from '../helpers/sidecar.js'
import { request, startUpstream } from '../helpers/upstream.js'

const quiet = { breaker: { enabled: false }, outlierDetection: { enabled: false } }
const fastCheck = { http: { path: '/health' }, interval: '20ms', jitter: 0, unhealthyThreshold: 1, healthyThreshold: 1 }

t.test('reload: alert rules, local services and services follow; breaker transitions recorded', async (t) => {
  const bad = await startUpstream('bad', (req, res) => void res.writeHead(req.url === '/health' ? 503 : 200).end())
  const good = await startUpstream('good', (_req, res) => void res.writeHead(200).end())
  t.teardown(() => Promise.all([bad.close(), good.close()]))
  const raw = (over: Record<string, unknown>) =>
    parseConfig(
      JSON.stringify({
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'pay' }] }],
        services: { pay: { endpoints: [{ address: bad.address }, { address: good.address }], healthCheck: fastCheck, ...quiet } },
        local: { services: [{ name: 'web', address: good.address, healthCheck: fastCheck }] },
        alerts: { rules: [{ name: 'down', when: 'endpoint-unhealthy' }] },
        ...over,
      }),
      'test.yaml',
    )
  const { logs, lines } = captureLogs()
  const runtime = new Runtime({ config: raw({}), logs })
  const health = runtime.health
  const transitions: EndpointTransition[] = []
  const alerts: Alert[] = []
  health.on({ transition: (x) => void transitions.push(x), alert: (a) => void alerts.push(a) })
  await runtime.start()
  t.teardown(() => runtime.stop())
  const pay = runtime.sidecar.registry.service('pay')!
  const badEp = pay.get(bad.address)!
  const goodEp = pay.get(good.address)!

  t.ok(await waitFor(() => badEp.activeHealth === 'unhealthy' && health.local.status('web')?.health === 'healthy', 5000))
  t.match(
    transitions.filter((x) => x.service === 'pay'),
    [{ endpoint: badEp.id, service: 'pay', from: 'healthy', to: 'unhealthy', reason: 'HTTP 503 from /health', at: Number }],
  )
  // a local service's checks are transitions (and history) like any other endpoint's
  t.ok(await waitFor(() => transitions.some((x) => x.service === 'web' && x.to === 'healthy'), 5000), 'the local service web turned healthy')
  health.alerts.evaluate()
  t.match(health.alerts.firing(), [{ name: 'down', endpoint: badEp.id }])
  t.equal(health.summary('pay')!.endpoints.length, 2)

  // breaker transitions (as the resilience plugin tells them) land in the history
  health.breakerTransition({ endpointId: goodEp.id, from: 'closed', to: 'open', reason: 'error rate 60% >= 50%' })
  t.match(health.history.endpointHistory(goodEp.id)!.transitions, [{ from: 'breaker closed', to: 'breaker open', reason: 'error rate 60% >= 50%' }])
  t.match(transitions.at(-1), { endpoint: goodEp.id, from: 'breaker closed', to: 'breaker open' })

  // reload: rule removed (its alert resolves), a local service added, a service added with a failing check
  const localChanges: string[] = []
  health.local.onChange((s) => localChanges.push(`${s.name} ${s.health}`))
  await runtime.apply(
    raw({
      services: {
        pay: { endpoints: [{ address: bad.address }, { address: good.address }], healthCheck: fastCheck, ...quiet },
        extra: { endpoints: [{ address: `127.0.0.1:${bad.port}` }], healthCheck: fastCheck, ...quiet },
      },
      local: { services: [{ name: 'web', address: good.address, healthCheck: fastCheck }, { name: 'api', address: good.address }] },
      alerts: { rules: [] },
    }),
  )
  t.same(alerts.map((a) => `${a.name} ${a.state}`), ['down firing', 'down resolved'], 'the removed rule resolved its alert')
  t.equal(alerts[1]!.summary, 'rule removed from the config')
  t.same(health.local.statuses().map((s) => s.name), ['web', 'api'])
  t.same(localChanges, ['api unknown'])
  const extra = runtime.sidecar.registry.service('extra')!
  const extraEp = extra.snapshot.all[0]!
  t.ok(await waitFor(() => extraEp.activeHealth === 'unhealthy', 5000), 'checks run on the new service')
  t.ok(await waitFor(() => transitions.some((x) => x.endpoint === extraEp.id && x.to === 'unhealthy'), 2000), 'the new service is observed')

  // reload: the service removed again
  await runtime.apply(raw({ alerts: { rules: [] } }))
  t.match(
    transitions.filter((x) => x.endpoint === extraEp.id).at(-1),
    { from: 'unhealthy', to: 'removed', reason: 'left the service' },
  )
  const n = transitions.length
  extraEp.activeHealth = 'healthy'
  extra.refresh()
  t.equal(transitions.length, n, 'a removed service is no longer observed')

  // history settings need a restart
  await runtime.apply(raw({ alerts: { rules: [] }, health: { history: { bucket: '5s', retention: '10m' } } }))
  t.ok(lines.some((l) => l.msg === 'health.history changes apply after a restart'))
  t.equal(health.history.bucketMs, 10_000)
})

t.test('lifecycle: every timer of the plugin is on the injected clock and cancelled by stop (idempotent)', async (t) => {
  const clock = new ManualClock(1_000)
  const config = parseConfig(
    JSON.stringify({
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'pay' }] }],
      services: { pay: { endpoints: [{ address: '127.0.0.1:1' }] } },
      local: { services: [{ name: 'web', address: '127.0.0.1:1', healthCheck: { tcp: {}, interval: '1s' } }] },
      alerts: { rules: [{ name: 'none', when: 'no-healthy-endpoint' }] },
    }),
    'test.yaml',
  )
  const plugin = createHealthPlugin({ config, currentConfig: () => config, clock, random: seededRandom(3), logger: pino({ level: 'silent' }), alertIntervalMs: 1_000, sweepIntervalMs: 500 })
  t.equal(plugin.layers?.length, 1, 'the history layer')
  t.equal(clock.pending(), 0, 'nothing scheduled before start')
  await plugin.start()
  t.equal(clock.pending(), 3, 'sweep, alert evaluation, the local check')
  clock.advance(600)
  t.equal(clock.pending(), 3, 'the sweep re-armed itself')
  await plugin.stop()
  t.equal(clock.pending(), 0, 'all cancelled')
  await plugin.stop()
  clock.advance(10_000)
  t.equal(clock.pending(), 0, 'nothing re-armed after stop')
  t.same(plugin.alerts.recent(), [], 'no sidecar attached: no targets, no alerts')
  t.equal(plugin.summary('pay'), undefined)
})

t.test('a breaker opened by proxied failures is in the endpoint history and fires breaker-open', async (t) => {
  let failing = true
  const app = await startUpstream('app', (_req, res) => void res.writeHead(failing ? 500 : 200).end())
  const spare = await startUpstream('spare', (_req, res) => void res.writeHead(200).end())
  t.teardown(() => Promise.all([app.close(), spare.close()]))
  const config = parseConfig(
    JSON.stringify({
      admin: { listen: '127.0.0.1:0' },
      listeners: [{ name: 'out', listen: '127.0.0.1:0', routes: [{ match: { pathPrefix: '/' }, service: 'pay' }] }],
      services: {
        pay: {
          strategy: 'round-robin',
          endpoints: [{ address: app.address }, { address: spare.address }],
          breaker: { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeout: '10s' },
          outlierDetection: { enabled: false },
        },
      },
      alerts: { rules: [{ name: 'open', when: 'breaker-open' }] },
      // failures count even when a loaded test machine makes commy's loop lag
      health: { eventLoopLagThreshold: '1m' },
    }),
    'test.yaml',
  )
  const runtime = new Runtime({ config, logs: captureLogs().logs })
  await runtime.start()
  t.teardown(() => runtime.stop())
  const port = runtime.sidecar.address().port
  const ep = runtime.sidecar.registry.service('pay')!.get(app.address)!
  for (let i = 0; i < 40 && ep.breaker.kind !== 'open'; i++) await request(port, { path: '/x' })
  t.equal(ep.breaker.kind, 'open', 'the breaker opened')
  failing = false
  const h = runtime.health.history.endpointHistory(ep.id)!
  const opened = h.transitions.find((x) => x.from === 'breaker closed' && x.to === 'breaker open')
  t.ok(opened && opened.reason !== '', `breaker transition recorded with its reason (${opened?.reason})`)
  t.ok(h.transitions.some((x) => x.to === 'ejected' && x.reason === 'circuit breaker open'), 'and the eligibility change')
  runtime.health.alerts.evaluate()
  t.match(runtime.health.alerts.firing(), [{ name: 'open', rule: 'breaker-open', endpoint: ep.id }])
})
