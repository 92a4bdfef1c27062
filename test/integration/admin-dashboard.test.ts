/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a running
 * commy (Runtime) with two services and a gossip peer that announces a third search endpoint:
 * members, endpoint health, a breaker turning open after an endpoint crashes while traffic keeps
 * coming, an actively checked endpoint turning unhealthy when killed, an alert firing.
 * Saves test-results/dashboard-live.png.
 */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { parseProm, total } from '../helpers/prom-parse.js'
import { adminCall, startRuntime } from '../helpers/admin-runtime.js'
import { request, startUpstream, type Handler, type Upstream } from '../helpers/upstream.js'
import { waitFor } from '../helpers/sidecar.js'
import type { DomElement, DomWindow } from '../helpers/dom.js'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const missing = !existsSync(CHROMIUM)
mkdirSync('test-results', { recursive: true })

/** Upstreams that crash every connection (their port stays taken: no other test can reuse it). */
const crashed = new Set<string>()

const handler: Handler = (req, res, up) => {
  if (crashed.has(up.name)) return void req.socket.destroy()
  req.resume()
  req.on('end', () => {
    if (req.url === '/health') return void res.writeHead(200).end('ok')
    setTimeout(() => res.writeHead(200, { 'x-upstream': up.name }).end(up.name), 2 + Math.random() * 8)
  })
}

function yaml(u: Record<string, Upstream>): string {
  return `
node: { name: node-a, zone: eu-west-1a }
admin: { listen: "127.0.0.1:0" }
log: { level: warn, accessLog: false }
limits: { drainGrace: 0s }
health: { history: { bucket: 1s, retention: 5m }, eventLoopLagThreshold: 10s } # a loaded machine must not pause the breaker under test
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes:
      - { name: pay, match: { pathPrefix: /pay }, service: payments }
      - { name: search, match: { pathPrefix: /search }, service: search }
services:
  payments:
    strategy: round-robin
    endpoints: [{ address: "${u.p1!.address}", zone: eu-west-1a, tags: [v2] }, { address: "${u.p2!.address}", zone: eu-west-1b }]
    breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeout: 60s }
    outlierDetection: { enabled: false }
  search:
    strategy: least-connections
    endpoints: [{ address: "${u.s1!.address}", zone: eu-west-1a }, { address: "${u.s2!.address}", zone: eu-west-1b }]
    healthCheck: { http: { path: /health }, interval: 200ms, timeout: 500ms, unhealthyThreshold: 2 }
    outlierDetection: { enabled: false }
alerts:
  rules:
    - { name: payments-breaker-open, when: breaker-open, service: payments, for: 0s, severity: critical }
gossip: { listen: "127.0.0.1:0", cluster: dashboard-test, profile: local }
`
}

/** A peer sidecar whose app is one more search endpoint, announced over gossip. */
function peerYaml(seed: string, app: Upstream): string {
  return `
node: { name: node-b, zone: eu-west-1b }
admin: { listen: "127.0.0.1:0" }
log: { level: warn, accessLog: false }
limits: { drainGrace: 0s }
listeners: [{ name: outbound, listen: "127.0.0.1:0", routes: [{ match: {}, service: search }] }]
services: { search: {} }
local: { services: [{ name: search, address: "${app.address}", tags: [canary], healthCheck: { http: { path: /health }, interval: 200ms } }] }
gossip: { listen: "127.0.0.1:0", seeds: ["${seed}"], cluster: dashboard-test, profile: local }
`
}

t.test('live dashboard of a running commy in chromium', { skip: missing ? `${CHROMIUM} is missing (apt-get install -y chromium); skipped` : false }, async (t) => {
  const u: Record<string, Upstream> = {}
  for (const name of ['p1', 'p2', 's1', 's2', 's3']) u[name] = await startUpstream(name, handler)
  t.teardown(() => Promise.all(Object.values(u).map((x) => x.close())))
  const rt = await startRuntime(yaml(u))
  t.teardown(() => rt.stop())
  const seed = rt.runtime.gossip!.address()!
  const peer = await startRuntime(peerYaml(`${seed.host}:${seed.port}`, u.s3!))
  t.teardown(() => peer.stop())
  const admin = rt.admin()
  const port = rt.port()
  const search = rt.runtime.sidecar.registry.service('search')!
  t.ok(await waitFor(() => search.snapshot.all.some((e) => e.address === u.s3!.address && e.eligibility(performance.now()).eligible), 10_000), 'the peer’s search endpoint was learned over gossip')
  const traffic = async (path: string, n: number) => {
    for (let i = 0; i < n; i += 5) await Promise.all(Array.from({ length: 5 }, () => request(port, { path }).catch(() => undefined)))
  }
  await traffic('/pay/charge', 20)
  await traffic('/search/q', 20)

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 })
  t.teardown(() => browser.close())
  const page: Page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' })
  page.setDefaultTimeout(15_000)
  const errors: string[] = []
  const foreign: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('request', (r) => {
    if (!r.url().startsWith(admin)) foreign.push(r.url())
  })
  await page.goto(`${admin}/`)
  await page.waitForSelector('[data-testid=live-status][data-mode=sse]')

  await page.waitForSelector('[data-testid=member-row]')
  const members = await page.$$eval('[data-testid=member-row]', (rows: DomElement[]) => rows.map((r) => [r.dataset.member, r.dataset.state]))
  t.same(members.sort(), [['node-a', 'alive'], ['node-b', 'alive']], 'this node and its gossip peer')
  t.same(await page.$$eval('[data-testid=service-card]', (c: DomElement[]) => c.map((e) => e.dataset.service)), ['payments', 'search'])
  const id = (service: string, up: Upstream) => `${service}~${up.address}`
  const rows = () =>
    page.$$eval('[data-testid=endpoint-row]', (rs: DomElement[]) => Object.fromEntries(rs.map((r): [string, (string | undefined)[]] => [String(r.dataset.endpointId), [r.dataset.state, r.dataset.breaker]])))
  t.same(await rows(), {
    [id('payments', u.p1!)]: ['healthy', 'closed'],
    [id('payments', u.p2!)]: ['healthy', 'closed'],
    [id('search', u.s1!)]: ['healthy', 'closed'],
    [id('search', u.s2!)]: ['healthy', 'closed'],
    [id('search', u.s3!)]: ['healthy', 'closed'],
  })
  t.equal(await page.textContent('[data-testid=config-version]'), rt.runtime.config.version)

  // a payments endpoint crashes (every connection reset); traffic keeps coming: its breaker opens
  crashed.add('p2')
  u.p2!.server.closeAllConnections()
  const p2ep = rt.runtime.sidecar.registry.service('payments')!.get(u.p2!.address)!
  for (let round = 0; round < 20 && p2ep.breaker.kind !== 'open'; round++) await traffic('/pay/charge', 10)
  t.equal(p2ep.breaker.kind, 'open', 'the breaker of the killed endpoint opened', {
    diag: { requests: p2ep.requests, failures: p2ep.failures, eligibility: p2ep.eligibility(performance.now()), stats: rt.runtime.resilience.breakerOf(p2ep) },
  })
  const p2 = `[data-testid=endpoint-row][data-endpoint-id="${id('payments', u.p2!)}"]`
  await page.waitForSelector(`${p2}[data-breaker=open]`)
  t.same((await rows())[id('payments', u.p2!)], ['ejected', 'open'], 'breaker open: ejected')
  t.match(await page.textContent(`${p2} td.reason`), 'circuit breaker open')
  t.equal(await page.textContent('#sum-breakers'), '1')

  // kill a search endpoint: its active check marks it unhealthy
  await u.s2!.close()
  const s2 = `[data-testid=endpoint-row][data-endpoint-id="${id('search', u.s2!)}"]`
  await page.waitForSelector(`${s2}[data-state=unhealthy]`)
  t.pass('health check failure shown as unhealthy')
  // steady traffic for a few seconds: req/s, p99 and the sparklines fill from the history (1 s buckets)
  let busy = true
  const background = (async () => {
    while (busy) {
      await traffic('/search/q', 5)
      await traffic('/pay/charge', 5)
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  await page.waitForFunction(() => Number((globalThis as unknown as DomWindow).document.querySelector('#sum-rps')?.textContent ?? '0') > 0, undefined, { timeout: 15_000 })
  await page.waitForSelector('[data-testid=alert-row][data-state=firing]') // the evaluator runs every 5 s
  await page.waitForTimeout(1500) // sparklines: a few more 1 s buckets
  t.match(await page.textContent('[data-testid=alert-row]'), /payments-breaker-open/)
  await page.screenshot({ path: 'test-results/dashboard-live.png', fullPage: true })
  busy = false
  await background

  t.match((await adminCall(admin, '/v1/alerts')).body.alerts, [{ name: 'payments-breaker-open', rule: 'breaker-open', state: 'firing', severity: 'critical', node: 'node-a' }])
  const fams = parseProm((await adminCall(admin, '/metrics')).text)
  t.equal(total(fams, 'commy_breaker_state', { service: 'payments', endpoint: u.p2!.address }), 2, 'breaker state gauge: open')
  t.ok(total(fams, 'commy_breaker_transitions_total', { service: 'payments', endpoint: u.p2!.address, to: 'open' }) >= 1, 'breaker transition counted')
  t.equal(total(fams, 'commy_endpoints', { service: 'search', state: 'unhealthy' }), 1)
  t.ok(total(fams, 'commy_health_checks_total', { service: 'search', endpoint: u.s2!.address, result: 'fail' }) >= 2)

  // the endpoint detail shows the transitions from the history
  await page.click(p2)
  await page.waitForSelector('#detail[open] #detail-transitions tr')
  t.match(await page.textContent('#detail-transitions'), /breaker open/)
  t.same(errors, [], 'no script errors')
  t.same(foreign, [], 'nothing loaded from anywhere else')
})
