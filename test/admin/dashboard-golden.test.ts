/**
 * The dashboard's golden-signal views in a real browser (Debian's chromium through playwright-core)
 * against the admin server with a fake sidecar whose services, endpoints and routes carry golden
 * signals: success rate first, the per-service table, the routes view (GET /v1/routes), human
 * labels, EWMA "idle", the events timeline (breaker, ejection, member, reload, alert, maintenance,
 * drain, undrain), the endpoint detail's charts with axes and values, and the maintenance and
 * undrain buttons. Saves test-results/dashboard-golden.png and test-results/dashboard-golden-detail.png.
 */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { AdminServer } from '../../src/admin/server.js'
import { Metrics } from '../../src/admin/metrics.js'
import type { EndpointView, RoutesView, ServiceView } from '../../src/admin/view.js'
import { FakeSidecar } from '../helpers/admin-fake.js'
import type { DomElement } from '../helpers/dom.js'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const missing = !existsSync(CHROMIUM)
mkdirSync('test-results', { recursive: true })

type Signals = { successRate: number | null; rps: number; p50Ms: number | null; p99Ms: number | null }

/** The fake sidecar with golden signals on its services, endpoints and routes (set by the test). */
class GoldenFake extends FakeSidecar {
  serviceSignals = new Map<string, Signals & { trySuccessRate: number | null; protocol?: 'http1' | 'http2'; grpcStatus?: Record<string, number> }>()
  endpointSignals = new Map<string, Signals>()
  routesView: RoutesView = { listeners: [] }

  override services(): readonly ServiceView[] {
    return super.services().map((s) => ({ ...s, ...this.serviceSignals.get(s.name) }))
  }
  override endpoints(): readonly EndpointView[] {
    return super.endpoints().map((ep) => ({ ...ep, ...this.endpointSignals.get(ep.id) }))
  }
  routes(): RoutesView {
    return this.routesView
  }
}

/** One browser for both tests (a launch is the slowest step on a loaded machine). */
let launched: Promise<Browser> | undefined
function browserOnce(): Promise<Browser> {
  if (!launched) {
    launched = chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 })
    t.teardown(async () => (await launched!).close())
  }
  return launched
}

const PAY1 = 'payments~10.0.0.1:8080'
const PAY2 = 'payments~10.0.0.2:8080'
const PAY3 = 'payments~10.0.0.3:8080'
const SEARCH2 = 'search~10.0.1.2:9200'

t.test('golden signals, routes, timeline, charts and maintenance in chromium', { skip: missing ? `${CHROMIUM} is missing (apt-get install -y chromium); skipped` : false }, async (t) => {
  const fake = new GoldenFake()
  fake.serviceSignals.set('payments', { successRate: 0.62, trySuccessRate: 0.3, rps: 12.5, p50Ms: 4.2, p99Ms: 48, protocol: 'http2', grpcStatus: { OK: 1200, UNAVAILABLE: 700, NOT_FOUND: 3, INTERNAL: 40 } })
  fake.serviceSignals.set('search', { successRate: 1, trySuccessRate: 1, rps: 3.2, p50Ms: 1.1, p99Ms: 9.5 })
  fake.endpointSignals.set(PAY1, { successRate: 0.995, rps: 6, p50Ms: 3.9, p99Ms: 20 })
  fake.endpointSignals.set(PAY2, { successRate: 0.97, rps: 5, p50Ms: 4.4, p99Ms: 31 })
  fake.endpointSignals.set(PAY3, { successRate: 0.1, rps: 4, p50Ms: 2, p99Ms: 60 })
  fake.endpointSignals.set(SEARCH2, { successRate: null, rps: 0, p50Ms: null, p99Ms: null })
  fake.routesView = {
    listeners: [
      {
        name: 'outbound',
        listen: '127.0.0.1:15001',
        routes: [
          { name: 'pay', match: { host: null, pathPrefix: '/pay', headers: {} }, service: 'payments', requests: 12345, successRate: 0.62, rps: 12.5, p50Ms: 4.2, p99Ms: 48 },
          { name: 'search', match: { host: 'search.local', pathPrefix: '/', headers: {} }, service: 'search', requests: 980, successRate: 1, rps: 3.2, p50Ms: 1.1, p99Ms: 9.5 },
        ],
      },
    ],
  }
  const ejected = fake.endpoint(PAY3)
  ejected.ejectedUntil = Number.MAX_SAFE_INTEGER
  ejected.ejectionReason = 'ejected for 60000ms: 5 consecutive errors'
  fake.endpoint(SEARCH2).inFlight = 0
  fake.alertsList = [
    { name: 'payments-errors', rule: 'error-rate', service: 'payments', state: 'firing', severity: 'critical', value: 0.38, threshold: 0.05, startedAt: Date.now() - 95_000, node: 'node-a' },
  ]

  const server = new AdminServer({
    config: { listen: { host: '127.0.0.1', port: 0 }, token: undefined, watchConfig: false },
    source: fake,
    actions: fake,
    metrics: new Metrics({ source: fake, defaultMetrics: false }),
    eventIntervalMs: 250,
  })
  await server.start()
  t.teardown(() => server.stop())
  const browser = await browserOnce()
  const page: Page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' })
  t.teardown(() => page.close())
  const errors: string[] = []
  const foreign: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url)) foreign.push(r.url())
  })
  page.on('dialog', (d) => void d.accept())
  page.setDefaultTimeout(10_000)

  await page.goto(`${server.url}/`)
  await page.waitForSelector('[data-testid=live-status][data-mode=sse]')

  // success rate first: the lead tile, weighted by each service's rate
  t.equal(await page.textContent('.tiles .tile:first-child .label'), 'Success rate', 'the first tile')
  const expected = ((0.62 * 12.5 + 1 * 3.2) / (12.5 + 3.2)) * 100
  t.equal(await page.textContent('[data-testid=sum-success]'), `${expected.toFixed(1)}%`, 'all services, weighted by req/s')
  t.match(await page.getAttribute('[data-testid=sum-success]', 'class'), /\bbad\b/, 'under 95%: red')
  t.equal(await page.textContent('[data-testid=sum-rps]'), '15.7')

  // the per-service golden-signal table
  await page.waitForSelector('[data-testid=golden-row][data-service=payments]')
  const golden = await page.$$eval('[data-testid=golden-row]', (rows: DomElement[]) =>
    rows.map((r) => [r.dataset.service, ...['success', 'tries', 'rps', 'p50', 'p99', 'healthy-count'].map((c) => (r as unknown as { querySelector(s: string): DomElement }).querySelector(`.${c}`).textContent)]),
  )
  t.same(golden, [
    ['payments', '62.0%', '30.0%', '12.5', '4.20 ms', '48.0 ms', '2 / 3'],
    ['search', '100%', '100%', '3.20', '1.10 ms', '9.50 ms', '2 / 2'],
  ])
  t.match(await page.getAttribute('[data-testid=golden-row][data-service=payments] td.success', 'class'), /\bbad\b/)
  // the protocol, and for gRPC the commonest final statuses
  t.equal(await page.textContent('[data-testid=golden-row][data-service=payments] td.protocol'), 'HTTP/2 · gRPC OK 1200, UNAVAILABLE 700, INTERNAL 40')
  t.equal(await page.textContent('[data-testid=golden-row][data-service=search] td.protocol'), 'HTTP/1.1')
  t.match(await page.getAttribute('[data-testid=golden-row][data-service=search] td.success', 'class'), /\bok\b/)

  // the routes view
  await page.waitForSelector('[data-testid=route-row][data-route=pay]')
  const routes = await page.$$eval('[data-testid=route-row]', (rows: DomElement[]) =>
    rows.map((r) => [r.dataset.listener, r.dataset.route, ...['match', 'service', 'success', 'rps', 'p99', 'requests'].map((c) => (r as unknown as { querySelector(s: string): DomElement }).querySelector(`.${c}`).textContent)]),
  )
  t.same(routes, [
    ['outbound', 'pay', '/pay*', 'payments', '62.0%', '12.5', '48.0 ms', '12,345'],
    ['outbound', 'search', 'host search.local · /*', 'search', '100%', '3.20', '9.50 ms', '980'],
  ])

  // endpoints: success rate of the tries, human labels, EWMA idle
  t.equal(await page.textContent(`[data-endpoint-id="${PAY3}"] td.success`), '10.0%', 'a failing endpoint shows its tries')
  const reason = await page.textContent(`[data-endpoint-id="${PAY3}"] td.reason`)
  t.equal(reason, 'ejected for 60 s: 5 consecutive errors', 'milliseconds read as a span')
  t.equal(await page.textContent(`[data-endpoint-id="${SEARCH2}"] td.ewma`), 'idle', 'no traffic: idle, not 0.01 ms')
  t.equal(await page.textContent(`[data-endpoint-id="${SEARCH2}"] td.success`), '—', 'no traffic: no success rate')
  const body = (await page.textContent('body')) ?? ''
  t.notMatch(body, /\bInc\./, 'no raw "Inc." column')
  t.notMatch(body, /\d+ms\b/, 'no raw milliseconds anywhere')

  // the events timeline: alerts back-filled, then what happens live
  await page.waitForSelector('[data-testid=event-row][data-kind=alert]')
  fake.setBreaker(PAY2, 'open')
  await page.waitForSelector('[data-testid=event-row][data-kind=breaker]')
  t.match(await page.textContent('[data-testid=event-row][data-kind=breaker]'), 'payments 10.0.0.2:8080 breaker closed → open')
  const search1 = fake.endpoint('search~10.0.1.1:9200')
  search1.ejectedUntil = Number.MAX_SAFE_INTEGER
  search1.ejectionReason = 'ejected for 30000ms: 5 consecutive errors'
  fake.services_.get('search')!.set.refresh()
  await page.waitForSelector('[data-testid=event-row][data-kind=ejection]')
  t.match(await page.textContent('[data-testid=event-row][data-kind=ejection]'), 'search 10.0.1.1:9200 healthy → ejected: ejected for 30 s')
  fake.membersList = [fake.membersList[0]!, { ...fake.membersList[1]!, state: 'dead' }, fake.membersList[2]!]
  await fake.reload()
  await page.waitForSelector('[data-testid=event-row][data-kind=member]')
  await page.waitForSelector('[data-testid=event-row][data-kind=reload]')
  t.match(await page.textContent('[data-testid=event-row][data-kind=member]'), 'node-b alive → dead')
  t.match(await page.textContent('[data-testid=event-row][data-kind=reload]'), 'config reloaded: c0ffee12 → beefcafe')

  // the endpoint detail: charts with axes and values, maintenance on and off
  await page.click(`[data-endpoint-id="${PAY1}"]`)
  await page.waitForSelector('#detail[open] [data-testid=chart-rps] svg.chart')
  for (const chart of ['chart-rps', 'chart-success', 'chart-p99']) {
    const y = await page.$$eval(`[data-testid=${chart}] .y-axis text`, (ts: DomElement[]) => ts.map((e) => e.textContent))
    const x = await page.$$eval(`[data-testid=${chart}] .x-axis text`, (ts: DomElement[]) => ts.map((e) => e.textContent))
    t.equal(y.length, 3, `${chart}: three y-axis labels`)
    t.ok(x.length >= 2 && x.every((l) => /^\d\d:\d\d$/.test(l ?? '')), `${chart}: time labels on the x axis (${x.join(' ')})`)
    t.match(await page.textContent(`[data-testid=${chart}] text.now`), /^last: \S/, `${chart}: the last value written out`)
  }
  t.same(await page.$$eval('[data-testid=chart-success] .y-axis text', (ts: DomElement[]) => ts.map((e) => e.textContent)), ['0%', '50%', '100%'])
  t.match(await page.textContent('#detail-stats'), 'success 99.50%')
  await page.screenshot({ path: 'test-results/dashboard-golden-detail.png' })

  await page.click('[data-testid=endpoint-drain]')
  await page.waitForSelector(`[data-testid=endpoint-row][data-endpoint-id="${PAY1}"][data-maintenance=true]`)
  t.equal(fake.endpoint(PAY1).maintenance, true, 'POST /v1/endpoints/{id}/drain reached the sidecar')
  t.equal(await page.textContent(`[data-endpoint-id="${PAY1}"] .state`), 'maintenance')
  await page.waitForSelector('[data-testid=endpoint-undrain]:not([hidden])')
  await page.waitForSelector('[data-testid=event-row][data-kind=maintenance]')
  t.match(await page.textContent('[data-testid=event-row][data-kind=maintenance]'), 'payments 10.0.0.1:8080 in maintenance')
  await page.click('[data-testid=endpoint-undrain]')
  await page.waitForSelector(`[data-testid=endpoint-row][data-endpoint-id="${PAY1}"][data-maintenance=false]`)
  t.equal(fake.endpoint(PAY1).maintenance, false, 'undrain reached the sidecar')
  await page.keyboard.press('Escape')

  // the sidecar: drain, then undrain from the same button
  await page.click('[data-testid=node-drain]')
  await page.locator('[data-testid=node-drain]', { hasText: 'Undrain' }).waitFor()
  t.equal(fake.drainCalls, 1)
  await page.waitForSelector('[data-testid=event-row][data-kind=drain]')
  await page.click('[data-testid=node-drain]')
  await page.locator('[data-testid=readiness]', { hasText: 'Ready' }).waitFor()
  t.equal(fake.undrainCalls, 1, 'POST /v1/undrain')
  await page.waitForSelector('[data-testid=event-row][data-kind=undrain]')
  const kinds = await page.$$eval('[data-testid=event-row]', (rows: DomElement[]) => [...new Set(rows.map((r) => r.dataset.kind))].sort())
  t.same(kinds, ['alert', 'breaker', 'drain', 'ejection', 'maintenance', 'member', 'reload', 'undrain'], 'every kind on the timeline')
  t.equal(await page.locator('[data-testid=event-row][data-kind=maintenance]').count(), 2, 'maintenance on and off, once each (not again from the snapshots)')

  await page.screenshot({ path: 'test-results/dashboard-golden.png', fullPage: true })
  t.same(errors, [], 'no script errors')
  t.same(foreign, [], 'nothing loaded from anywhere else')
})

t.test('endpoint maintenance asks for the admin token as the other write actions do', { skip: missing ? `${CHROMIUM} is missing; skipped` : false }, async (t) => {
  const fake = new GoldenFake()
  const token = 'dashboard-golden-token-0123456789'
  const server = new AdminServer({
    config: { listen: { host: '127.0.0.1', port: 0 }, token, watchConfig: false },
    source: fake,
    actions: fake,
    metrics: new Metrics({ source: fake, defaultMetrics: false }),
    eventIntervalMs: 250,
  })
  await server.start()
  t.teardown(() => server.stop())
  const browser = await browserOnce()
  const page = await browser.newPage()
  t.teardown(() => page.close())
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('dialog', (d) => void d.accept())
  page.setDefaultTimeout(10_000)
  await page.goto(`${server.url}/`)
  await page.waitForSelector('[data-testid=live-status][data-mode=sse]')
  await page.click(`[data-endpoint-id="${PAY1}"]`)
  await page.click('[data-testid=endpoint-drain]')
  await page.waitForSelector('#auth:not([hidden])')
  t.equal(fake.endpoint(PAY1).maintenance, false, 'refused without the token')
  await page.fill('#auth-token', token)
  await page.click('#auth-form button[type=submit]')
  await page.click('[data-testid=endpoint-drain]')
  await page.waitForSelector(`[data-testid=endpoint-row][data-endpoint-id="${PAY1}"][data-maintenance=true]`)
  t.equal(fake.endpoint(PAY1).maintenance, true, 'sent with the bearer token')
  t.same(errors, [])
})
