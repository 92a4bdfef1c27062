/**
 * The admin plugin's wiring pieces on their own: the config file watcher (debounce, unchanged
 * text, one reload at a time, stop), the readers taken from the other plugins (members, history,
 * alerts), the metric feeds (resilience, health, gossip, registry), and the admin server taking a
 * rotated token on reload.
 */
import t from 'tap'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { StaticDiscovery } from '../../src/discovery/static.js'
import { EndpointRegistry } from '../../src/discovery/registry.js'
import type { Endpoint } from '../../src/endpoint/endpoint.js'
import { AlwaysHealthy } from '../../src/health/health-source.js'
import { ConfigWatcher } from '../../src/admin/config-watch.js'
import { subscribeFeeds, type FeedSources } from '../../src/admin/feeds.js'
import { Metrics } from '../../src/admin/metrics.js'
import { memberView } from '../../src/admin/runtime-source.js'
import { AdminServer } from '../../src/admin/server.js'
import { packageVersion } from '../../src/admin/version.js'
import type { MemberInfo } from '../../src/membership/api.js'
import type { CounterSnapshot } from '../../src/membership/counters.js'
import type { HealthEvents } from '../../src/plugins/health.js'
import type { ResilienceEvents } from '../../src/resilience/events.js'
import { FakeSidecar } from '../helpers/admin-fake.js'
import { parseProm, total } from '../helpers/prom-parse.js'
import { waitFor } from '../helpers/sidecar.js'
import { tempDir } from '../helpers/temp.js'

const quiet = { info() {}, warn() {} }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function tempConfig(text: string): string {
  const file = join(tempDir('commy-watch-'), 'sidecar.yaml')
  writeFileSync(file, text)
  return file
}

t.test('config watcher: debounced, skips unchanged text, sees rename-over saves, stops', async (t) => {
  const file = tempConfig('a: 1\n')
  let reloads = 0
  let release: (() => void) | undefined
  const w = new ConfigWatcher({
    file,
    clock: systemClock,
    log: quiet,
    debounceMs: 50,
    reload: async () => {
      reloads++
      await new Promise<void>((r) => (release = r))
    },
  })
  w.start()
  t.teardown(() => w.stop())
  t.ok(w.watching)
  for (let i = 0; i < 5; i++) writeFileSync(file, `a: ${i + 2}\n`) // a burst: one reload
  t.ok(await waitFor(() => reloads === 1, 3000), 'one reload for a burst of writes')
  let judged = w.judged
  writeFileSync(file, 'a: 10\n') // changes while the reload runs: once more afterwards
  t.ok(await waitFor(() => w.judged > judged, 3000), 'the change is judged while the reload runs')
  t.equal(reloads, 1, 'never two reloads at once')
  release!()
  t.ok(await waitFor(() => reloads === 2, 3000), 'the change during the reload is applied after it')
  release!()
  await w.settled()
  judged = w.judged
  writeFileSync(file, 'a: 10\n') // same text
  t.ok(await waitFor(() => w.judged > judged, 3000), 'the save is judged')
  t.equal(reloads, 2, 'a save that does not change the text does not reload')
  const tmp = `${file}.tmp`
  writeFileSync(tmp, 'a: 11\n')
  renameSync(tmp, file) // how many editors save
  t.ok(await waitFor(() => reloads === 3, 3000), 'a rename over the file is seen')
  release!()
  await w.settled()
  w.stop()
  w.stop()
  t.notOk(w.watching)
  writeFileSync(file, 'a: 12\n')
  await sleep(250) // an absence check: the watcher is closed, no event can come to wait for
  t.equal(reloads, 3, 'nothing after stop')
})

t.test('gossip members as admin member views', async (t) => {
  const info: MemberInfo = {
    name: 'node-b',
    address: '10.0.0.2:7946',
    host: '10.0.0.2',
    port: 7946,
    state: 'suspect',
    incarnation: 4,
    zone: undefined,
    adminAddress: undefined,
    meta: {
      services: [
        { name: 'payments', host: '10.0.0.2', port: 8080, weight: 1, tags: [], health: 'healthy' },
        { name: 'payments', host: '10.0.0.2', port: 8081, weight: 1, tags: [], health: 'healthy' },
        { name: 'search', host: '10.0.0.2', port: 9200, weight: 1, tags: [], health: 'unknown' },
      ],
    },
    self: false,
  }
  t.same(memberView(info), { name: 'node-b', address: '10.0.0.2:7946', state: 'suspect', incarnation: 4, zone: null, services: ['payments', 'search'], self: false })
})

t.test('metric feeds: resilience and health events, gossip counters, departed endpoints', async (t) => {
  const config = parseConfig(
    `
listeners: [{ name: l, listen: "127.0.0.1:0", routes: [{ name: r, match: {}, service: pay }] }]
services: { pay: { endpoints: [{ address: "127.0.0.1:1001" }, { address: "127.0.0.1:1002" }] } }
`,
    'test.yaml',
  )
  const discovery = new StaticDiscovery(config.services)
  const registry = new EndpointRegistry({ services: config.services, localZone: undefined, now: () => 0, sources: [discovery], health: new AlwaysHealthy() })
  registry.start()
  t.teardown(() => registry.stop())
  const metrics = new Metrics({ defaultMetrics: false })
  let resilienceFeed: ResilienceEvents | undefined
  let healthFeed: HealthEvents | undefined
  let offs = 0
  const resilience: FeedSources['resilience'] = { on: (f) => ((resilienceFeed = f), () => void offs++) }
  const health: FeedSources['health'] = { on: (f) => ((healthFeed = f), () => void offs++) }
  const counters = { messagesIn: { ping: 3 }, messagesOut: {}, bytesIn: 90, bytesOut: 0, drops: { auth: 2 } }
  const gossip: FeedSources['gossip'] = { counters: () => counters as unknown as CounterSnapshot }
  const off = subscribeFeeds(metrics, { registry, resilience, health, gossip })
  const ep = registry.service('pay')!.get('127.0.0.1:1001') as Endpoint
  resilienceFeed!.breakerTransition!({ service: 'pay', endpoint: ep.address, endpointId: ep.id, from: 'closed', to: 'open', reason: 'test' })
  resilienceFeed!.ejection!({ service: 'pay', endpoint: ep.address, endpointId: ep.id, durationMs: 1000, multiplier: 1, reason: 'test', ejections: 1 })
  resilienceFeed!.budgetExhausted!({ service: 'pay', method: 'GET', tries: 1, reason: 'test', stats: {} as never })
  healthFeed!.checked!({ endpoint: ep, ok: false, reason: 'HTTP 500', durationMs: 1, at: 0 })
  healthFeed!.checked!({ endpoint: ep, ok: true, reason: 'ok', durationMs: 1, at: 0 })
  metrics.route('l', 'r', 'pay').done(ep.address, 200, 0.01)
  let fams = parseProm(await metrics.text())
  t.equal(total(fams, 'commy_breaker_transitions_total', { service: 'pay', endpoint: '127.0.0.1:1001', to: 'open' }), 1)
  t.equal(total(fams, 'commy_ejections_total', { endpoint: '127.0.0.1:1001' }), 1)
  t.equal(total(fams, 'commy_retry_budget_exhausted_total', { service: 'pay' }), 1)
  t.equal(total(fams, 'commy_health_checks_total', { result: 'fail' }), 1)
  t.equal(total(fams, 'commy_health_checks_total', { result: 'pass' }), 1)
  t.equal(total(fams, 'commy_gossip_messages_total', { direction: 'in', type: 'ping' }), 3)
  t.equal(total(fams, 'commy_gossip_auth_failures_total'), 2)

  // the endpoint leaves (a reload without it): its series go
  discovery.update(parseConfig(`
listeners: [{ name: l, listen: "127.0.0.1:0", routes: [{ name: r, match: {}, service: pay }] }]
services: { pay: { endpoints: [{ address: "127.0.0.1:1002" }] } }
`, 'test.yaml').services)
  fams = parseProm(await metrics.text())
  t.equal(total(fams, 'commy_requests_total', { endpoint: '127.0.0.1:1001' }), 0)
  t.equal(total(fams, 'commy_breaker_transitions_total', { endpoint: '127.0.0.1:1001' }), 0)
  off()
  t.equal(offs, 2, 'unsubscribed from resilience and health')
  t.match(packageVersion(), /^\d+\.\d+\.\d+/)
})

t.test('admin server: a reloaded token applies at once; a new listen address is ignored', async (t) => {
  const fake = new FakeSidecar()
  const config = { listen: { host: '127.0.0.1', port: 0 }, token: 'first-token-0123456789', watchConfig: false }
  const server = new AdminServer({ config, source: fake, actions: fake, metrics: new Metrics({ source: fake, defaultMetrics: false }) })
  await server.start()
  t.teardown(() => server.stop())
  const post = (token: string) => fetch(`${server.url}/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)
  t.equal(await post('first-token-0123456789'), 200)
  t.equal(server.updateConfig({ ...config, token: 'second-token-0123456789' }), true)
  t.equal(await post('first-token-0123456789'), 401, 'the old token no longer works')
  t.equal(await post('second-token-0123456789'), 200)
  t.equal(server.updateConfig({ ...config, listen: { host: '127.0.0.1', port: 1 }, token: undefined }), false, 'listen change needs a restart')
  t.equal(await post('anything-at-all-0123456789'), 401, 'the token stays')
})
